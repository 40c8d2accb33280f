package fakeapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Spec is what every fake's route has: the request it answers and its
// status.
type Spec struct {
	// Method is the HTTP method; empty means GET.
	Method string
	// Path is the API path below the base path.
	Path string
	// Query restricts the route to requests carrying these parameters.
	Query map[string]string
	// Status is the HTTP status; 0 means 200.
	Status int
}

// MethodOrGet is the method with the default applied, upper case.
func (s Spec) MethodOrGet() string {
	if s.Method == "" {
		return http.MethodGet
	}
	return strings.ToUpper(s.Method)
}

// StatusOrOK is the status with the default applied.
func (s Spec) StatusOrOK() int {
	if s.Status == 0 {
		return http.StatusOK
	}
	return s.Status
}

// key identifies a route for duplicate detection.
func (s Spec) key() string {
	q := make([]string, 0, len(s.Query))
	for k, v := range s.Query {
		q = append(q, k+"="+v)
	}
	slices.Sort(q)
	return s.MethodOrGet() + " " + s.Path + "?" + strings.Join(q, "&")
}

// ReadRoutes decodes the route list in file strictly (unknown keys are
// errors) and resolves each route against the fixture directory dir. Errors
// start with what, e.g. "loading fixture", and name the file and route.
func ReadRoutes[R any](what, file, dir string, resolve func(r *R, dir string) error, spec func(R) Spec) ([]R, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var routes []R
	if err := dec.Decode(&routes); err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, file, err)
	}
	for i := range routes {
		if err := resolve(&routes[i], dir); err != nil {
			return nil, fmt.Errorf("%s %s: route %d (%s): %w", what, file, i, spec(routes[i]).Path, err)
		}
	}
	return routes, nil
}

// ReadBodyFile returns the contents of a route's body file, read from inside
// the fixture directory dir, or inline when the route names no file. field
// names the inline body in errors ("body").
func ReadBodyFile(dir, file string, inline json.RawMessage, field string) (json.RawMessage, error) {
	if file == "" {
		return inline, nil
	}
	if len(inline) > 0 {
		return nil, fmt.Errorf("give file or %s, not both", field)
	}
	if !filepath.IsLocal(file) {
		return nil, fmt.Errorf("file %q must be a relative path inside the fixture directory", file)
	}
	return os.ReadFile(filepath.Join(dir, file))
}

// Validate checks what every fake's routes need: an absolute path without
// a query, a valid status, then the fake's own rules (check, if not nil),
// none of the fake's own query parameters (page, per_page), no duplicates.
func Validate[R any](routes []R, spec func(R) Spec, check func(i int, r R) error) error {
	seen := map[string]int{}
	for i, r := range routes {
		s := spec(r)
		switch {
		case !strings.HasPrefix(s.Path, "/"):
			return fmt.Errorf("route %d: path %q must start with /", i, s.Path)
		case strings.ContainsAny(s.Path, "?#"):
			return fmt.Errorf("route %d: path %q must not carry a query; use \"query\"", i, s.Path)
		case s.Status != 0 && (s.Status < 100 || s.Status > 599):
			return fmt.Errorf("route %d (%s): status %d is not an HTTP status", i, s.Path, s.Status)
		}
		if check != nil {
			if err := check(i, r); err != nil {
				return err
			}
		}
		for _, p := range []string{"page", "per_page"} {
			if _, ok := s.Query[p]; ok {
				return fmt.Errorf("route %d (%s): %s is the fake's own query parameter", i, s.Path, p)
			}
		}
		k := s.key()
		if j, dup := seen[k]; dup {
			return fmt.Errorf("route %d (%s) duplicates route %d", i, s.Path, j)
		}
		seen[k] = i
	}
	return nil
}

// Routes indexes a fake's routes by method and path, so large (benchmark)
// fixtures match in constant time. The zero value is empty and ready.
type Routes[T any] struct {
	byKey map[string][]indexed[T]
}

type indexed[T any] struct {
	query map[string]string
	route T
}

// Add adds a route, after those already added.
func (rs *Routes[T]) Add(s Spec, route T) {
	if rs.byKey == nil {
		rs.byKey = map[string][]indexed[T]{}
	}
	k := s.MethodOrGet() + " " + s.Path
	rs.byKey[k] = append(rs.byKey[k], indexed[T]{query: s.Query, route: route})
}

// Match finds the route for a request: same method and path, every query
// condition met; of several, the one with the most conditions wins, then
// the earliest added.
func (rs *Routes[T]) Match(method, apiPath string, q url.Values) (T, bool) {
	var best *indexed[T]
	for i := range rs.byKey[method+" "+apiPath] {
		c := &rs.byKey[method+" "+apiPath][i]
		if queryMatches(c.query, q) && (best == nil || len(c.query) > len(best.query)) {
			best = c
		}
	}
	if best == nil {
		var zero T
		return zero, false
	}
	return best.route, true
}

func queryMatches(want map[string]string, q url.Values) bool {
	for k, v := range want {
		if !slices.Contains(q[k], v) {
			return false
		}
	}
	return true
}

// IntParam reads a positive integer query parameter, or def.
func IntParam(q url.Values, name string, def int) int {
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < 1 {
		return def
	}
	return n
}

// Page reads page and per_page (per_page defaults to def and is at most
// most) and returns the bounds of that page in a list of n items.
func Page(q url.Values, def, most, n int) (page, perPage, start, end int) {
	perPage = min(IntParam(q, "per_page", def), most)
	page = IntParam(q, "page", 1)
	start = min((page-1)*perPage, n)
	end = min(start+perPage, n)
	return page, perPage, start, end
}

// JoinArray writes items as a JSON array, each item byte for byte.
func JoinArray(items []json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// JoinObject writes an object, keys sorted, each value byte for byte
// (json.Marshal would compact them), with sep between members and colon
// between key and value.
func JoinObject(obj map[string]json.RawMessage, sep, colon string) []byte {
	keys := slices.Sorted(maps.Keys(obj))
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(sep)
		}
		name, _ := json.Marshal(k)
		b.Write(name)
		b.WriteString(colon)
		b.Write(obj[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}
