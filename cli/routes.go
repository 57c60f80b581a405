package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/go-chi/chi/v5"
	"github.com/spf13/cobra"
	"github.com/trellis-go/trellis"
	"github.com/trellis-go/trellis/auth"
)

// Route is one route of the app, as `routes --json` prints it.
type Route struct {
	// Method is the HTTP method, or "*" for a handler of every method
	// (registered with Handle or Mount).
	Method string `json:"method"`
	Path   string `json:"path"`
	// Handler names the endpoint: the function, method or type serving it.
	Handler string `json:"handler"`
	// Requires is "user" when the route needs a signed-in user,
	// "role:NAME" when it needs a role (several are comma-separated), and
	// empty for a public route.
	Requires string `json:"requires"`
}

func (cmds *commands) routesCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "routes",
		Short: "List the app's routes: method, path, handler and what each requires",
		Long: `List every route the app serves — its own and the built-in sets (account
pages, role API, jobs admin, health checks, metrics) — with the handler and
what it requires: "user" (sign-in), "role:NAME", or "-" for public routes.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			return cmds.withApp(c.Context(), func(app *trellis.App) error {
				routes, err := Routes(app)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(c.OutOrStdout(), routes)
				}
				return routesTable(c.OutOrStdout(), routes)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// Routes lists the routes of r (an app, or any chi router), sorted by path
// and method. What a route requires comes from the auth.Guard handlers
// that its middleware (auth.RequireUser, auth.RequireRole) wrap a handler
// in, and from guards wrapped around the endpoint itself.
func Routes(r chi.Routes) ([]Route, error) {
	var out []Route
	err := chi.Walk(r, func(method, path string, h http.Handler, mws ...func(http.Handler) http.Handler) error {
		var reqs []string
		for _, mw := range mws {
			reqs = append(reqs, requirementsOf(mw)...)
		}
		h, more := unwrap(h)
		out = append(out, Route{Method: method, Path: path, Handler: handlerName(h), Requires: summarize(append(reqs, more...))})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking the routes: %w", err)
	}
	out = collapseAny(out)
	slices.SortFunc(out, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return methodRank(a.Method) - methodRank(b.Method)
	})
	return out, nil
}

// everyMethod are the methods chi gives a route registered for any
// method (Handle, Mount), among others.
var everyMethod = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace}

// collapseAny replaces the routes of a path that has the same handler and
// requirements for every method with one route whose method is "*".
func collapseAny(routes []Route) []Route {
	type group struct{ path, handler, requires string }
	methods := map[group][]string{}
	for _, r := range routes {
		g := group{r.Path, r.Handler, r.Requires}
		methods[g] = append(methods[g], r.Method)
	}
	anyMethod := func(g group) bool {
		for _, m := range everyMethod {
			if !slices.Contains(methods[g], m) {
				return false
			}
		}
		return true
	}
	var out []Route
	done := map[group]bool{}
	for _, r := range routes {
		g := group{r.Path, r.Handler, r.Requires}
		if anyMethod(g) {
			if !done[g] {
				done[g] = true
				out = append(out, Route{Method: "*", Path: r.Path, Handler: r.Handler, Requires: r.Requires})
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// requirementsOf applies mw to a probe handler and reads the guards it
// returns.
func requirementsOf(mw func(http.Handler) http.Handler) []string {
	return guards(mw(http.NotFoundHandler()))
}

// guards reads the requirements of the guards h is, down its chain.
func guards(h http.Handler) []string {
	var reqs []string
	for {
		g, ok := h.(auth.Guard)
		if !ok {
			return reqs
		}
		reqs = append(reqs, g.Requirement())
		h = g.Next()
	}
}

// unwrap finds the endpoint inside inline middleware chains and guards,
// and the requirements of the guards it passed.
func unwrap(h http.Handler) (http.Handler, []string) {
	var reqs []string
	for {
		switch v := h.(type) {
		case *chi.ChainHandler:
			for _, mw := range v.Middlewares {
				reqs = append(reqs, requirementsOf(mw)...)
			}
			h = v.Endpoint
		case auth.Guard:
			reqs = append(reqs, v.Requirement())
			h = v.Next()
		default:
			return h, reqs
		}
	}
}

// summarize merges requirements: a role implies a signed-in user.
func summarize(reqs []string) string {
	slices.Sort(reqs)
	reqs = slices.Compact(reqs)
	if len(reqs) > 1 {
		reqs = slices.DeleteFunc(reqs, func(r string) bool { return r == "user" })
	}
	return strings.Join(reqs, ",")
}

// closure matches the suffixes Go gives function literals and method
// values: .func1, .func1.2, .gowrap1, -fm.
var closure = regexp.MustCompile(`(\.(func|gowrap)?\d+)+$|-fm$`)

// handlerName names h: its function for handler funcs (without the
// module path or closure suffixes), else its type.
func handlerName(h http.Handler) string {
	v := reflect.ValueOf(h)
	if v.Kind() != reflect.Func || v.IsNil() {
		return fmt.Sprintf("%T", h)
	}
	name := runtime.FuncForPC(v.Pointer()).Name()
	for {
		trimmed := closure.ReplaceAllString(name, "")
		if trimmed == name {
			break
		}
		name = trimmed
	}
	// Drop the package path (generic instantiations print as [...], with
	// no slash inside).
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// methodRank orders methods as a reader expects them.
func methodRank(m string) int {
	order := append([]string{"*"}, everyMethod...)
	if i := slices.Index(order, m); i >= 0 {
		return i
	}
	return len(order)
}

func routesTable(w io.Writer, routes []Route) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tPATH\tHANDLER\tREQUIRES")
	for _, r := range routes {
		req := r.Requires
		if req == "" {
			req = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Method, r.Path, r.Handler, req)
	}
	return tw.Flush()
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
