package trellis

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/trellis-go/trellis/oauth"
	"github.com/trellis-go/trellis/ui"
)

// WithOAuthClient makes sign-in with providers talk to them (discovery,
// keys, tokens, user info, GitHub's API) through c: for an outgoing proxy,
// a private certificate authority, or a test. The default client times
// out after 15 seconds.
func WithOAuthClient(c *http.Client) Option {
	return func(o *options) { o.oauthClient = c }
}

// WithGitHubEndpoints points providers with preset "github" at another
// GitHub: GitHub Enterprise Server, or a test's fake. Empty fields keep
// github.com's.
func WithGitHubEndpoints(e oauth.GitHubEndpoints) Option {
	return func(o *options) { o.github = e }
}

// setupOAuth builds App.OAuth when [oauth.providers] are configured. It
// needs accounts. Providers are not contacted until the first sign-in.
func (a *App) setupOAuth() error {
	if len(a.Config.OAuth.Providers) == 0 {
		return nil
	}
	prefix, ok := a.opts.mountedAt(OAuth)
	if !ok {
		prefix = defaultMounts[OAuth] // the app mounts App.OAuth.Routes itself
	}
	if prefix == authPrefix(a.opts) {
		// The account pages' own paths would shadow such a provider: the
		// first segment of each, below the prefix.
		var pages ui.AuthPaths
		var taken []string
		for _, p := range []string{pages.Login(), pages.Register(), pages.Logout(), pages.Account(), pages.Forgot(), pages.Reset(), pages.Verify(), pages.ChangeEmail()} {
			first, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
			taken = append(taken, first)
		}
		for _, name := range a.Config.OAuth.ProviderNames() {
			if slices.Contains(taken, name) {
				return fmt.Errorf("trellis: oauth.providers.%s: the name clashes with the account page %s/%s (both route sets are at %q); rename the provider or move a set with trellis.MountAt", name, prefix, name, prefix)
			}
		}
	}
	s, err := oauth.New(oauth.Options{
		Config: a.Config.OAuth, BaseURL: a.Config.BaseURL(), Prefix: prefix,
		DB: a.DB, Auth: a.Auth, Sessions: a.Sessions, Render: a.Render, Logger: a.Logger,
		HTTPClient: a.opts.oauthClient, GitHub: a.opts.github,
	})
	if err != nil {
		return fmt.Errorf("trellis: %w", err)
	}
	a.OAuth = s
	return nil
}
