package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
)

// Identity is who a provider says the visitor is.
type Identity struct {
	// Subject is the provider's stable id for the account (the ID token's
	// sub claim; GitHub's numeric user id).
	Subject string
	// Email is the account's address at the provider.
	Email string
	// EmailVerified says whether the provider vouches for Email.
	EmailVerified bool
	// Name is the person's name, when the provider gives one.
	Name string
}

// provider is one configured sign-in provider.
type provider interface {
	// authCodeURL is where to send the visitor to sign in; state, nonce
	// and the PKCE verifier belong to this attempt only.
	authCodeURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// exchange trades the code for tokens and returns the verified
	// identity.
	exchange(ctx context.Context, code, verifier, nonce string) (*Identity, error)
}

// Errors of a sign-in attempt, told apart by the handlers for their answer.
var (
	// ErrUnavailable: the provider could not be reached, or answered with
	// a server error or something that is not what the protocol says.
	ErrUnavailable = errors.New("oauth: provider unavailable")
	// ErrRejected: the provider refused the code (expired, used already,
	// or not issued to this client), a visitor's problem: start again.
	ErrRejected = errors.New("oauth: provider rejected the authorization code")
	// ErrInvalidToken: the ID token failed verification (signature,
	// issuer, audience, expiry or nonce). It is answered as ErrUnavailable
	// is: such a token comes from a misbehaving provider (or someone
	// posing as it), not from a mistake of the visitor's.
	ErrInvalidToken = errors.New("oauth: ID token failed verification")
)

// classify maps an error of the oauth2 package's token exchange to
// ErrRejected (the provider answered 4xx, such as invalid_grant) or
// ErrUnavailable (transport failures, 5xx, malformed answers).
func classify(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		clientError := re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500
		// GitHub answers 200 with an error field.
		refused := re.ErrorCode != "" && re.ErrorCode != "server_error" && re.ErrorCode != "temporarily_unavailable"
		if clientError || refused {
			return fmt.Errorf("%w: %w", ErrRejected, err)
		}
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// clientContext makes the oauth2 and go-oidc packages use client.
func clientContext(ctx context.Context, client *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, client)
}
