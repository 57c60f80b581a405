package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis/config"
	"github.com/trellis-go/trellis/internal/devserver"
)

func newDevCmd() *cobra.Command {
	var (
		cf         configFlags
		addr       string
		buildFlags string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the app in this directory, rebuilding and reloading it on every change",
		Long: `Run the Trellis app in the current directory (its module root) for
development: Go, templ, SQL, static and config files are watched; a change
regenerates templ code, rebuilds the app and restarts it, and open browser
tabs reload by themselves. A compile error shows in the terminal and, in
the browser, as an error page until it is fixed.

The dev server listens on the app's server.addr (or --addr) and runs the
app on a free loopback port behind it. The live-reload script and its
endpoint under /_trellis/dev/ exist only in this proxy, never in the app.
Ctrl-C stops the app and everything it started.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			refuse := usageError{errors.New("dev serves development builds; run the built binary in production instead of --env production")}
			if profile := cmp.Or(cf.profile, os.Getenv("TRELLIS_ENV")); config.Profile(profile) == config.Production {
				return refuse // before loading: production rules would fail first
			}
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			if cfg.Profile == config.Production {
				return refuse
			}
			if !c.Flags().Changed("addr") {
				addr = cfg.Server.Addr
			}
			env := os.Environ()
			if cf.path != "" {
				abs, err := filepath.Abs(cf.path)
				if err != nil {
					return err
				}
				env = append(env, "TRELLIS_CONFIG="+abs)
			}
			if cf.profile != "" {
				env = append(env, "TRELLIS_ENV="+cf.profile)
			}
			flags, err := splitFlags(buildFlags)
			if err != nil {
				return usageError{fmt.Errorf("--build-flags: %w", err)}
			}
			var ignore []string
			if dir := cfg.App.DataDir; dir != "" && !filepath.IsAbs(dir) {
				ignore = append(ignore, dir)
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return devserver.Run(ctx, devserver.Options{
				Addr:       addr,
				BuildFlags: flags,
				Env:        env,
				IgnoreDirs: ignore,
				Log:        c.ErrOrStderr(),
				Stdout:     c.OutOrStdout(),
				Stderr:     c.ErrOrStderr(),
			})
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", "", "address the dev server listens on (default server.addr)")
	cmd.Flags().StringVar(&buildFlags, "build-flags", "", `extra "go build" flags, space-separated; quote a flag holding spaces (e.g. "-race '-ldflags=-s -w'")`)
	return cmd
}

// splitFlags splits s at spaces into flags, as the go command does for
// GOFLAGS-like lists: a flag wholly in single or double quotes may hold
// spaces.
func splitFlags(s string) ([]string, error) {
	var flags []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if q := s[0]; q == '\'' || q == '"' {
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %c in %q", q, s)
			}
			flags = append(flags, s[1:end+1])
			s = s[end+2:]
			continue
		}
		end := strings.IndexAny(s, " \t\n")
		if end < 0 {
			end = len(s)
		}
		if strings.ContainsAny(s[:end], "'\"") {
			return nil, fmt.Errorf("quote a whole flag, not part of it: %q", s[:end])
		}
		flags = append(flags, s[:end])
		s = s[end:]
	}
	return flags, nil
}
