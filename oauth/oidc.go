package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// discoveryRetry is how long a failed discovery is remembered before the
// next sign-in tries again, so an outage is not hammered by every click.
const discoveryRetry = 10 * time.Second

// oidcProvider signs in with an OpenID Connect provider, found by its
// issuer's discovery document on first use (never at start-up, so the app
// starts while the provider is down).
type oidcProvider struct {
	issuer string
	client *http.Client
	config oauth2.Config // Endpoint is filled in by discovery

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider
	failed   time.Time
	err      error
}

func newOIDC(issuer, clientID, secret, redirect string, scopes []string, client *http.Client) *oidcProvider {
	return &oidcProvider{issuer: issuer, client: client, config: oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Scopes: scopes,
	}}
}

// discover returns the provider's metadata, fetching it on first use and
// after a failure older than discoveryRetry.
func (p *oidcProvider) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, oauth2.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, p.verifier, p.config, nil
	}
	if p.err != nil && time.Since(p.failed) < discoveryRetry {
		return nil, nil, oauth2.Config{}, p.err
	}
	// go-oidc keeps the client (not the deadline) for its later fetches
	// of rotated keys.
	dctx, cancel := context.WithTimeout(clientContext(ctx, p.client), 10*time.Second)
	defer cancel()
	prov, err := oidc.NewProvider(dctx, p.issuer)
	if err != nil {
		p.failed, p.err = time.Now(), fmt.Errorf("%w: discovering %s: %w", ErrUnavailable, p.issuer, err)
		return nil, nil, oauth2.Config{}, p.err
	}
	p.provider, p.err = prov, nil
	// Verifies signature (keys from the discovered jwks_uri), issuer,
	// audience (this client id) and expiry.
	p.verifier = prov.Verifier(&oidc.Config{ClientID: p.config.ClientID})
	p.config.Endpoint = prov.Endpoint()
	if p.config.Endpoint.AuthStyle == oauth2.AuthStyleAutoDetect && p.config.ClientSecret == "" {
		p.config.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return p.provider, p.verifier, p.config, nil
}

func (p *oidcProvider) authCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	_, _, cfg, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// claims are the ID token and userinfo claims Trellis reads.
type claims struct {
	Subject       string          `json:"sub"`
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
	Name          string          `json:"name"`
}

// verified reads email_verified, which some providers send as a string.
func (c claims) verified() bool {
	var b bool
	if json.Unmarshal(c.EmailVerified, &b) == nil {
		return b
	}
	var s string
	if json.Unmarshal(c.EmailVerified, &s) == nil {
		b, _ = strconv.ParseBool(s)
	}
	return b
}

func (p *oidcProvider) exchange(ctx context.Context, code, verifier, nonce string) (*Identity, error) {
	prov, v, cfg, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	ctx = clientContext(ctx, p.client)
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, classify(err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, fmt.Errorf("%w: the token response has no id_token", ErrInvalidToken)
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("%w: the nonce does not match this sign-in", ErrInvalidToken)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: reading claims: %w", ErrInvalidToken, err)
	}
	if c.Email == "" && prov.UserInfoEndpoint() != "" {
		// Providers may leave the address out of the ID token and give it
		// at the userinfo endpoint instead.
		info, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, fmt.Errorf("%w: userinfo: %w", ErrUnavailable, err)
		}
		var uc claims
		if err := info.Claims(&uc); err != nil {
			return nil, fmt.Errorf("%w: userinfo: %w", ErrUnavailable, err)
		}
		if info.Subject != idt.Subject {
			return nil, fmt.Errorf("%w: userinfo is about another subject", ErrInvalidToken)
		}
		c.Email, c.EmailVerified = uc.Email, uc.EmailVerified
		if c.Name == "" {
			c.Name = uc.Name
		}
	}
	return &Identity{Subject: idt.Subject, Email: c.Email, EmailVerified: c.verified(), Name: c.Name}, nil
}
