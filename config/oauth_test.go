package config

import (
	"slices"
	"strings"
	"testing"
)

func TestOAuthProvidersFromFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "trellis.toml", `
[oauth.providers.github]
client_id = "gh-id"
preset = "github"

[oauth.providers.corp]
client_id = "corp-id"
client_secret = "from-file"
issuer = "https://login.corp.example/realms/main"
scopes = ["openid", "email", "groups"]
label = "Corp SSO"
`)
	cfg, err := Load(Options{Path: path, Profile: Test, Env: []string{
		"TRELLIS_OAUTH_PROVIDERS_GITHUB_CLIENT_SECRET=gh-secret",
		"TRELLIS_OAUTH_PROVIDERS_CORP_CLIENT_SECRET=from-env",
	}})
	if err != nil {
		t.Fatal(err)
	}
	gh, corp := cfg.OAuth.Providers["github"], cfg.OAuth.Providers["corp"]
	if gh.ClientID != "gh-id" || gh.ClientSecret != "gh-secret" || gh.Preset != "github" {
		t.Errorf("github: %+v", gh)
	}
	if corp.ClientSecret != "from-env" || corp.Label != "Corp SSO" || !slices.Equal(corp.Scopes, []string{"openid", "email", "groups"}) {
		t.Errorf("corp: %+v", corp)
	}
	if got := cfg.OAuth.ProviderNames(); !slices.Equal(got, []string{"corp", "github"}) {
		t.Errorf("names %v", got)
	}
	// Provider tables are not flat keys.
	for _, k := range cfg.Keys() {
		if strings.HasPrefix(k, "oauth.") {
			t.Errorf("Keys lists %s", k)
		}
	}
}

func TestOAuthMistakesNameFileKeyAndFix(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "trellis.toml", `
[oauth.providers.github]
preset = "github"
client_secret = "x"

[oauth.providers.acme]
client_id = "a"
issuer = "https://login.acme.example"
preset = "google"

[oauth.providers.other]
client_id = "a"
preset = "gitlab"
`)
	_, err := Load(Options{Path: path, Profile: Test, Env: []string{}})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		path + ": oauth.providers.github.client_id: is missing (fix: set client_id",
		"TRELLIS_OAUTH_PROVIDERS_GITHUB_CLIENT_ID",
		path + ": oauth.providers.acme.issuer: issuer and preset are both set (fix: keep one",
		path + `: oauth.providers.other.preset: unknown preset "gitlab" (fix: use "github" or "google"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	// An unknown key inside a provider table, and a bad name.
	path = writeFile(t, dir, "bad.toml", `
[oauth.providers.github]
client_id = "x"
client_secret = "y"
preset = "github"
clientsecret = "z"
`)
	_, err = Load(Options{Path: path, Profile: Test, Env: []string{}})
	for _, want := range []string{
		path + ": oauth.providers.github.clientsecret: unknown key (fix: known keys of a provider are client_id, client_secret",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	path = writeFile(t, dir, "name.toml", `
[oauth.providers.My-Corp]
client_id = "x"
issuer = "https://a.example"
`)
	_, err = Load(Options{Path: path, Profile: Test, Env: []string{}})
	if want := path + `: oauth.providers.My-Corp: invalid provider name "My-Corp"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error lacks %q:\n%v", want, err)
	}

	// Environment mistakes.
	_, err = Load(Options{Profile: Test, Env: []string{"TRELLIS_OAUTH_PROVIDERS_GITHUB_SECRET=x", "TRELLIS_OAUTH_ENABLED=true"}})
	for _, want := range []string{"env TRELLIS_OAUTH_PROVIDERS_GITHUB_SECRET: no such config key", "env TRELLIS_OAUTH_ENABLED: no such config key"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// A provider declared by the environment alone is validated too.
	_, err = Load(Options{Profile: Test, Env: []string{"TRELLIS_OAUTH_PROVIDERS_GOOGLE_PRESET=google", "TRELLIS_OAUTH_PROVIDERS_GOOGLE_CLIENT_ID=g"}})
	if err == nil || !strings.Contains(err.Error(), "env TRELLIS_OAUTH_PROVIDERS_GOOGLE_CLIENT_SECRET") && !strings.Contains(err.Error(), "oauth.providers.google.client_secret: is missing") {
		t.Errorf("google without secret: %v", err)
	}
}

func TestOAuthNeedsLaxCookiesAndHTTPSInProduction(t *testing.T) {
	c := Default(Test)
	c.Session.CookieSameSite = "strict"
	c.OAuth.Providers = map[string]OAuthProvider{"corp": {ClientID: "x", Issuer: "https://a.example"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "session.cookie_same_site") {
		t.Errorf("strict cookies accepted: %v", err)
	}
	c = Default(Production)
	c.App.BaseURL = "https://app.example"
	c.OAuth.Providers = map[string]OAuthProvider{"corp": {ClientID: "x", Issuer: "http://login.example"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "oauth.providers.corp.issuer: plain http://") {
		t.Errorf("http issuer accepted in production: %v", err)
	}
	c.OAuth.Providers = map[string]OAuthProvider{"corp": {ClientID: "x", Issuer: "http://127.0.0.1:8080"}}
	if err := c.Validate(); err != nil && strings.Contains(err.Error(), "oauth") {
		t.Errorf("loopback issuer refused: %v", err)
	}
}
