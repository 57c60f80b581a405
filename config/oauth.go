package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// OAuth holds the providers visitors can sign in with ("Sign in with …"),
// one [oauth.providers.NAME] table each.
type OAuth struct {
	// Providers maps a provider's name (used in URLs and in the
	// environment variables that override its keys) to its settings.
	Providers map[string]OAuthProvider `toml:"providers"`
}

// OAuthProvider is one [oauth.providers.NAME] table. Each key can also be
// set from the environment as TRELLIS_OAUTH_PROVIDERS_<NAME>_<KEY>, for
// example TRELLIS_OAUTH_PROVIDERS_GITHUB_CLIENT_SECRET.
type OAuthProvider struct {
	// ClientID is the client (application) id the provider issued.
	ClientID string `toml:"client_id"`
	// ClientSecret is the client secret the provider issued; required for
	// the presets, optional for an issuer that registered the app as a
	// public client (PKCE only). Prefer the environment variable.
	ClientSecret string `toml:"client_secret"`
	// Issuer is an OpenID Connect issuer URL; its discovery document
	// (ISSUER/.well-known/openid-configuration) is fetched on first use.
	// Set Issuer or Preset, not both.
	Issuer string `toml:"issuer"`
	// Preset is "github" (OAuth2 and GitHub's REST API) or "google" (the
	// issuer https://accounts.google.com).
	Preset string `toml:"preset"`
	// Scopes replaces the default scopes: ["openid", "email", "profile"]
	// for OpenID Connect, ["read:user", "user:email"] for GitHub.
	Scopes []string `toml:"scopes"`
	// Label is the provider's name on buttons ("Sign in with Label");
	// default "GitHub", "Google", or the provider's name.
	Label string `toml:"label"`
}

// OAuth presets.
const (
	PresetGitHub = "github"
	PresetGoogle = "google"
)

// providerName is what a provider may be called: it appears in URLs and in
// environment variable names.
var providerName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// oauthKeys are the keys of an [oauth.providers.NAME] table.
var oauthKeys = []string{"client_id", "client_secret", "issuer", "preset", "scopes", "label"}

// field returns the provider field named key, for the environment.
func (p *OAuthProvider) field(key string) (*string, *[]string) {
	switch key {
	case "client_id":
		return &p.ClientID, nil
	case "client_secret":
		return &p.ClientSecret, nil
	case "issuer":
		return &p.Issuer, nil
	case "preset":
		return &p.Preset, nil
	case "label":
		return &p.Label, nil
	case "scopes":
		return nil, &p.Scopes
	}
	return nil, nil
}

// loadOAuthEnv applies TRELLIS_OAUTH_PROVIDERS_<NAME>_<KEY> variables; a
// variable names a provider that the files did not declare declares it.
// Other TRELLIS_OAUTH_ variables are errors.
func (c *Config) loadOAuthEnv(env map[string]string) Errors {
	var errs Errors
	names := make([]string, 0, len(env))
	for k := range env {
		if strings.HasPrefix(k, "TRELLIS_OAUTH_") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, "TRELLIS_OAUTH_PROVIDERS_")
		var provider, key string
		if ok {
			for _, k := range oauthKeys {
				if p, found := strings.CutSuffix(rest, "_"+strings.ToUpper(k)); found && p != "" {
					provider, key = strings.ToLower(p), k
					break
				}
			}
		}
		if key == "" {
			errs = append(errs, &Error{Source: "env " + name, Problem: "no such config key",
				Fix: "use TRELLIS_OAUTH_PROVIDERS_<NAME>_<KEY> with KEY one of " + strings.ToUpper(strings.Join(oauthKeys, ", "))})
			continue
		}
		if c.OAuth.Providers == nil {
			c.OAuth.Providers = map[string]OAuthProvider{}
		}
		p := c.OAuth.Providers[provider]
		s, list := p.field(key)
		value := strings.TrimSpace(env[name])
		if s != nil {
			*s = value
		} else {
			*list = nil
			for item := range strings.SplitSeq(value, ",") {
				if item = strings.TrimSpace(item); item != "" {
					*list = append(*list, item)
				}
			}
		}
		c.OAuth.Providers[provider] = p
		c.SetSource("oauth.providers."+provider+"."+key, "env "+name)
		c.SetSource("oauth.providers."+provider, "env "+name)
	}
	return errs
}

// ProviderNames lists the configured providers' names, sorted.
func (o OAuth) ProviderNames() []string {
	names := make([]string, 0, len(o.Providers))
	for n := range o.Providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (v *validator) validateOAuth() {
	o := v.c.OAuth
	// A missing key has no source of its own: name the file (or
	// variable) that declared its provider.
	add := func(table, key, problem, fix string) {
		src := v.c.Source(key)
		if src == "default" {
			src = v.c.Source(table)
		}
		v.errs = append(v.errs, &Error{Source: src, Key: key, Problem: problem, Fix: fix})
	}
	if len(o.Providers) > 0 {
		v.check(v.c.Session.CookieSameSite == "lax", "session.cookie_same_site",
			`"strict" is refused with [oauth.providers]: the browser would not send the session cookie when the provider redirects back, so every sign-in would fail its state check`,
			`use "lax" (the default)`)
	}
	for _, name := range o.ProviderNames() {
		p := o.Providers[name]
		key := func(k string) string { return "oauth.providers." + name + "." + k }
		table := "oauth.providers." + name
		check := func(ok bool, key, problem, fix string) {
			if !ok {
				add(table, key, problem, fix)
			}
		}
		if !providerName.MatchString(name) {
			add(table, table, fmt.Sprintf("invalid provider name %q", name),
				"name the table with a lower-case letter, then up to 31 lower-case letters, digits or '_' (it appears in URLs and environment variable names), such as [oauth.providers.github]")
			continue
		}
		env := EnvName(key("client_id"))
		check(p.ClientID != "", key("client_id"), "is missing",
			"set client_id to the client id the provider issued for this app (or "+env+")")
		switch {
		case p.Issuer != "" && p.Preset != "":
			add(table, key("issuer"), "issuer and preset are both set", `keep one: preset = "github" or "google", or issuer = the OpenID Connect issuer URL`)
		case p.Issuer == "" && p.Preset == "":
			add(table, table, "neither issuer nor preset is set", `set preset = "github" or "google", or issuer = the OpenID Connect issuer URL such as "https://login.example.com"`)
		case p.Preset != "":
			if p.Preset != PresetGitHub && p.Preset != PresetGoogle {
				add(table, key("preset"), fmt.Sprintf("unknown preset %q", p.Preset), `use "github" or "google", or set issuer for another OpenID Connect provider`)
			}
			check(p.ClientSecret != "", key("client_secret"), "is missing",
				"set client_secret to the secret the provider issued, preferably from the environment: "+EnvName(key("client_secret")))
		default:
			u, err := url.Parse(p.Issuer)
			switch {
			case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "":
				add(table, key("issuer"), fmt.Sprintf("%q is not an issuer URL", p.Issuer), `use the issuer's https URL exactly as it names itself, such as "https://login.example.com" or "https://login.example.com/realms/main"`)
			case u.Scheme == "http" && v.c.Profile == Production && !isLoopback(u.Hostname()):
				add(table, key("issuer"), "plain http:// is refused in production: tokens would travel unencrypted", "use the issuer's https:// URL")
			}
		}
		if p.Scopes != nil {
			check(len(p.Scopes) > 0, key("scopes"), "is empty", "remove the key to use the default scopes")
			for _, s := range p.Scopes {
				check(s != "" && !strings.ContainsAny(s, " \t\r\n\""), key("scopes"), fmt.Sprintf("invalid scope %q", s), "list scopes one per string, without spaces")
			}
			if p.Preset != PresetGitHub && len(p.Scopes) > 0 {
				check(slices.Contains(p.Scopes, "openid"), key("scopes"), `does not include "openid"`,
					`add "openid" (and "email" for the address): without it the provider issues no ID token`)
			}
		}
		check(len(p.Label) <= 40 && !strings.ContainsAny(p.Label, "\r\n"), key("label"), "is longer than 40 characters or has a line break", "use a short name such as \"Acme SSO\"")
	}
}
