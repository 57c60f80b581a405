package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	ghoauth "golang.org/x/oauth2/github"

	"golang.org/x/oauth2"
)

// GitHubEndpoints locates GitHub: github.com by default; set them for
// GitHub Enterprise Server (https://HOST/login/oauth/authorize,
// https://HOST/login/oauth/access_token and https://HOST/api/v3) or for a
// test's fake GitHub. Empty fields keep github.com's.
type GitHubEndpoints struct {
	// AuthURL is the authorization page the visitor is sent to.
	AuthURL string
	// TokenURL exchanges the code for an access token.
	TokenURL string
	// APIURL is the REST API's base URL (/user and /user/emails below it).
	APIURL string
}

func (e GitHubEndpoints) withDefaults() GitHubEndpoints {
	if e.AuthURL == "" {
		e.AuthURL = ghoauth.Endpoint.AuthURL
	}
	if e.TokenURL == "" {
		e.TokenURL = ghoauth.Endpoint.TokenURL
	}
	if e.APIURL == "" {
		e.APIURL = "https://api.github.com"
	}
	e.APIURL = strings.TrimSuffix(e.APIURL, "/")
	return e
}

// githubProvider signs in with GitHub: OAuth2 (with PKCE) for an access
// token, then the REST API for the user and their verified primary
// address. GitHub is not an OpenID Connect provider, so there is no ID
// token and no nonce; state and PKCE bind the code to this browser.
type githubProvider struct {
	config oauth2.Config
	api    string
	client *http.Client
}

func newGitHub(clientID, secret, redirect string, scopes []string, e GitHubEndpoints, client *http.Client) *githubProvider {
	e = e.withDefaults()
	return &githubProvider{api: e.APIURL, client: client, config: oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.AuthURL, TokenURL: e.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}}
}

func (g *githubProvider) authCodeURL(_ context.Context, state, _, verifier string) (string, error) {
	return g.config.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil
}

func (g *githubProvider) exchange(ctx context.Context, code, verifier, _ string) (*Identity, error) {
	tok, err := g.config.Exchange(clientContext(ctx, g.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, classify(err)
	}
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := g.get(ctx, tok, "/user", &user); err != nil {
		return nil, err
	}
	if user.ID <= 0 {
		return nil, fmt.Errorf("%w: GitHub's /user has no id", ErrUnavailable)
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := g.get(ctx, tok, "/user/emails", &emails); err != nil {
		return nil, err
	}
	id := &Identity{Subject: strconv.FormatInt(user.ID, 10), Name: user.Name}
	if id.Name == "" {
		id.Name = user.Login
	}
	// Only the primary address, and only when GitHub has verified it:
	// a secondary or unverified address proves nothing.
	for _, e := range emails {
		if e.Primary {
			id.Email, id.EmailVerified = e.Email, e.Verified
		}
	}
	return id, nil
}

// get calls GitHub's REST API with the access token and decodes the JSON
// answer into v.
func (g *githubProvider) get(ctx context.Context, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.api+path, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	tok.SetAuthHeader(req)
	res, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GitHub %s: %w", ErrUnavailable, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: GitHub %s: %w", ErrUnavailable, path, err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GitHub %s answered %s", ErrUnavailable, path, res.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: GitHub %s: %w", ErrUnavailable, path, err)
	}
	return nil
}
