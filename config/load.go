package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// decodeErr picks the line, key and message out of the TOML decoder's type
// errors, which are not ParseError values.
var decodeErr = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]+)"\): (.*)$`)

// DefaultPath is the config file read when no path is given.
const DefaultPath = "config/trellis.toml"

// Options controls [Load].
type Options struct {
	// Path is the config file. Empty means TRELLIS_CONFIG from Env, else
	// [DefaultPath] when it exists. An explicitly named file must exist.
	Path string
	// Profile selects defaults and rules. Empty means TRELLIS_ENV from Env,
	// else development.
	Profile Profile
	// Env lists environment variables as "KEY=value"; nil means os.Environ().
	Env []string
}

// Load builds a Config from defaults, files and environment variables, then
// validates it. The error, if any, is an [Errors] value listing every problem.
func Load(opts Options) (*Config, error) {
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	envMap := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			envMap[k] = v
		}
	}

	profile := opts.Profile
	if profile == "" {
		profile = Profile(envMap["TRELLIS_ENV"])
	}
	if profile == "" {
		profile = Development
	}
	if !profile.Valid() {
		return nil, Errors{{Source: "profile", Key: "", Problem: fmt.Sprintf("unknown profile %q", profile),
			Fix: "use development, test or production (flag --env or TRELLIS_ENV)"}}
	}

	c := Default(profile)
	var errs Errors

	path, explicit := opts.Path, opts.Path != ""
	if !explicit {
		if p := envMap["TRELLIS_CONFIG"]; p != "" {
			path, explicit = p, true
		} else {
			path = DefaultPath
		}
	}
	errs = append(errs, c.loadFile(path, explicit)...)
	overlay := strings.TrimSuffix(path, filepath.Ext(path)) + "." + string(profile) + filepath.Ext(path)
	errs = append(errs, c.loadFile(overlay, false)...)
	errs = append(errs, c.loadEnv(envMap)...)
	if len(errs) > 0 {
		return nil, errs
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// loadFile decodes one TOML file over c. A missing optional file is skipped.
func (c *Config) loadFile(path string, required bool) Errors {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil
	}
	if err != nil {
		return Errors{{Source: path, Problem: "cannot read config file: " + err.Error(),
			Fix: "check the path given by --config or TRELLIS_CONFIG"}}
	}
	md, err := toml.Decode(string(data), c)
	if err != nil {
		e := &Error{Source: path, Problem: err.Error(), Fix: "correct the TOML value"}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			e.Source = fmt.Sprintf("%s:%d", path, pe.Position.Line)
			e.Problem = pe.Message
			e.Key = pe.LastKey
		} else if m := decodeErr.FindStringSubmatch(err.Error()); m != nil {
			e.Source = path + ":" + m[1]
			e.Key = m[2]
			e.Problem = m[3]
		}
		if e.Key != "" {
			e.Fix = fixFor(c, e.Key)
		}
		return Errors{e}
	}
	var errs Errors
	unknownSections := map[string]bool{}
	for _, k := range md.Undecoded() {
		if unknownSections[k[0]] {
			continue
		}
		key := k.String()
		if len(k) == 4 && k[0] == "oauth" && k[1] == "providers" {
			errs = append(errs, &Error{Source: path, Key: key, Problem: "unknown key", Fix: "known keys of a provider are " + strings.Join(oauthKeys, ", ")})
			continue
		}
		if len(k) == 1 && md.Type(k...) == "Hash" {
			unknownSections[k[0]] = true
			errs = append(errs, &Error{Source: path, Key: key, Problem: "unknown section", Fix: suggestSection(key)})
			continue
		}
		errs = append(errs, &Error{Source: path, Key: key, Problem: "unknown key", Fix: suggest(key)})
	}
	for _, k := range md.Keys() {
		if len(k) == 2 || k[0] == "oauth" && len(k) > 2 {
			c.SetSource(k.String(), path)
		}
	}
	return errs
}

// loadEnv applies TRELLIS_<SECTION>_<KEY> variables. A variable that starts
// with a known section prefix but names no key is an error; other TRELLIS_
// variables (TRELLIS_ENV, TRELLIS_CONFIG, test settings) are not config keys.
func (c *Config) loadEnv(env map[string]string) Errors {
	fields := c.fields()
	sections := map[string]bool{}
	for key := range fields {
		section, _, _ := strings.Cut(key, ".")
		sections["TRELLIS_"+strings.ToUpper(section)+"_"] = true
	}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	var errs Errors
	errs = append(errs, c.loadOAuthEnv(env)...)
	for _, name := range names {
		if strings.HasPrefix(name, "TRELLIS_OAUTH_") {
			continue
		}
		key := envKey(name)
		field, ok := fields[key]
		if !ok {
			for prefix := range sections {
				if strings.HasPrefix(name, prefix) {
					errs = append(errs, &Error{Source: "env " + name, Problem: "no such config key",
						Fix: "remove the variable or use one of: " + strings.Join(envNamesIn(fields, prefix), ", ")})
					break
				}
			}
			continue
		}
		if err := setFromString(field, env[name]); err != nil {
			errs = append(errs, &Error{Source: "env " + name, Key: key, Problem: err.Error(), Fix: fixFor(c, key)})
			continue
		}
		c.SetSource(key, "env "+name)
	}
	return errs
}

// envKey maps TRELLIS_SERVER_READ_TIMEOUT to server.read_timeout.
func envKey(name string) string {
	rest, ok := strings.CutPrefix(name, "TRELLIS_")
	if !ok {
		return ""
	}
	section, key, ok := strings.Cut(strings.ToLower(rest), "_")
	if !ok {
		return ""
	}
	return section + "." + key
}

// EnvName returns the environment variable that sets key ("section.key").
func EnvName(key string) string {
	return "TRELLIS_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func envNamesIn(fields map[string]reflect.Value, prefix string) []string {
	var out []string
	for key := range fields {
		if name := EnvName(key); strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// fields maps every "section.key" to its settable struct field.
func (c *Config) fields() map[string]reflect.Value {
	out := map[string]reflect.Value{}
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		section := t.Field(i).Tag.Get("toml")
		if section == "" || section == "-" || t.Field(i).Type.Kind() != reflect.Struct {
			continue
		}
		sv := v.Field(i)
		st := sv.Type()
		for j := range st.NumField() {
			if st.Field(j).Type.Kind() == reflect.Map {
				continue // tables of tables, such as [oauth.providers.NAME]
			}
			if key := st.Field(j).Tag.Get("toml"); key != "" && key != "-" {
				out[section+"."+key] = sv.Field(j)
			}
		}
	}
	return out
}

// Keys lists every known "section.key", sorted.
func (c *Config) Keys() []string {
	fields := c.fields()
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var durationType = reflect.TypeFor[time.Duration]()

// setFromString parses s into the field according to its type.
func setFromString(f reflect.Value, s string) error {
	s = strings.TrimSpace(s)
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q", s)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(s)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("invalid boolean %q", s)
		}
		f.SetBool(b)
	case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		f.SetInt(n)
	case f.Kind() == reflect.Float64:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("invalid number %q", s)
		}
		f.SetFloat(n)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var items []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// fixFor describes the expected form of key's value.
func fixFor(c *Config, key string) string {
	f, ok := c.fields()[key]
	if !ok {
		return suggest(key)
	}
	switch {
	case f.Type() == durationType:
		return `use a duration such as "30s", "5m" or "1h30m"`
	case f.Kind() == reflect.Bool:
		return "use true or false"
	case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
		return "use a whole number"
	case f.Kind() == reflect.Float64:
		return "use a number such as 0.1"
	case f.Kind() == reflect.Slice:
		return `use a list of strings (env: comma-separated)`
	default:
		return "use a string"
	}
}

// suggest proposes the closest known key for a misspelt one.
func suggest(key string) string {
	section, name, _ := strings.Cut(key, ".")
	best, bestDist := "", max(2, len(name)/2+1)+1
	for _, k := range Default(Development).Keys() {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	var inSection []string
	for _, k := range Default(Development).Keys() {
		if strings.HasPrefix(k, section+".") {
			inSection = append(inSection, k)
		}
	}
	if len(inSection) > 0 {
		return "remove it; known keys in [" + section + "] are " + strings.Join(inSection, ", ")
	}
	return "remove it; see the configuration reference in README.md"
}

// suggestSection proposes the closest known section for a misspelt one.
func suggestSection(name string) string {
	var sections []string
	seen := map[string]bool{}
	for _, k := range Default(Development).Keys() {
		if s, _, _ := strings.Cut(k, "."); !seen[s] {
			seen[s] = true
			sections = append(sections, s)
		}
	}
	for _, s := range sections {
		if editDistance(name, s) <= 2 {
			return fmt.Sprintf("did you mean [%s]?", s)
		}
	}
	return "remove it; known sections are " + strings.Join(sections, ", ")
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
