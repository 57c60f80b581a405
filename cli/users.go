package cli

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
)

func (cmds *commands) usersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Manage user accounts",
	}
	var (
		admin, verified bool
		name            string
	)
	create := &cobra.Command{
		Use:   "create EMAIL",
		Short: "Create a user account (--admin: with the admin role)",
		Long: `Create a user account. The password is the first line of standard input
when it is piped in:

	echo "$PASSWORD" | app users create ada@example.com --admin

When standard input is a terminal or empty, a strong password is generated
and printed once. No mail is sent: the address stays unconfirmed unless
--verified says you vouch for it.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, args []string) error {
			email := auth.NormalizeEmail(args[0])
			if msg := auth.ValidateEmail(email); msg != "" {
				return usageError{fmt.Errorf("%q: %s", args[0], msg)}
			}
			if utf8.RuneCountInString(name) > 100 {
				return usageError{errors.New("--name: use at most 100 characters")}
			}
			password, err := readPassword(c.InOrStdin())
			if err != nil {
				return err
			}
			generated := password == ""
			if generated {
				password = generatePassword()
			} else if msg := auth.ValidatePassword(password); msg != "" {
				return usageError{errors.New(msg)}
			}
			var roles []string
			if admin {
				roles = append(roles, auth.RoleAdmin)
			}
			return cmds.withApp(c.Context(), func(app *trellis.App) error {
				if app.Auth == nil {
					return errors.New("the app has no database, so no accounts")
				}
				u, err := app.Auth.CreateUser(c.Context(), email, name, password, roles...)
				if errors.Is(err, auth.ErrEmailTaken) {
					return fmt.Errorf("an account with the email %s already exists", email)
				}
				if err != nil {
					return fmt.Errorf("creating the account: %w", err)
				}
				if verified {
					if err := app.Auth.Users.MarkVerified(c.Context(), u.ID); err != nil {
						return fmt.Errorf("marking the address confirmed: %w", err)
					}
				}
				out := c.OutOrStdout()
				fmt.Fprintf(out, "created user %d: %s", u.ID, u.Email)
				if verified {
					fmt.Fprint(out, " (address confirmed)")
				}
				if len(u.Roles) > 0 {
					fmt.Fprintf(out, " (roles: %s)", strings.Join(u.Roles, ", "))
				}
				fmt.Fprintln(out)
				if generated {
					fmt.Fprintf(out, "password: %s\n(shown only this once: keep it somewhere safe)\n", password)
				}
				return nil
			})
		},
	}
	create.Flags().BoolVar(&admin, "admin", false, "give the user the admin role")
	create.Flags().StringVar(&name, "name", "", "the user's display name")
	create.Flags().BoolVar(&verified, "verified", false, "mark the address as confirmed (you vouch for it); otherwise the user confirms it from the account page")
	cmd.AddCommand(create)
	return cmd
}

// readPassword reads the first line of in, without its line ending. A
// terminal is not read from (the password would be echoed): the result is
// empty, as for empty input, and a password is generated.
func readPassword(in io.Reader) (string, error) {
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return "", nil
		}
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// generatePassword returns 144 random bits as 24 URL-safe characters.
func generatePassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}
