// Package ghfake is a fake GitHub REST API at the HTTP boundary.
//
// A Fixture is a list of routes, each a canned response to one method and
// path. The Server serves a fixture under a non-empty base path (default
// /api/v3/, as GitHub Enterprise Server does), so a client that builds
// absolute URLs instead of resolving them against its base URL fails. Like
// GitHub it paginates JSON array bodies itself (per_page, page and an RFC 5988
// Link header with absolute URLs), answers unknown routes with 404, can
// require a bearer token, counts requests per path and sends the rate-limit
// headers on every response.
//
// Fixtures live in a directory holding routes.json:
//
//	[
//	  {"path": "/orgs/acme/repos", "file": "repos.json"},
//	  {"path": "/repos/acme/web/branches/main/protection", "status": 404,
//	   "body": {"message": "Branch not protected", "documentation_url": "..."}},
//	  {"path": "/repos/acme/web/rulesets/73", "query": {"includes_parents": "true"},
//	   "file": "ruleset-73.json"}
//	]
//
// More routes may sit in DIR/routes.d/*.json (same format, read in name
// order, file paths still relative to DIR), so each collector's sample data
// keeps its own route list.
//
// method defaults to GET and status to 200; file (relative to the directory)
// is served byte for byte, so it may hold deliberately malformed JSON; body is
// inline JSON. Programs may also build a Fixture in memory.
package ghfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RoutesFile is the name of a fixture directory's route list.
const RoutesFile = "routes.json"

// RoutesDir holds further route lists of a fixture directory.
const RoutesDir = "routes.d"

// Route is one canned response.
type Route struct {
	// Method is the HTTP method; empty means GET.
	Method string `json:"method,omitempty"`
	// Path is the API path below the base path, e.g.
	// "/repos/acme/api/branches/main/protection".
	Path string `json:"path"`
	// Query, when set, restricts the route to requests carrying these query
	// parameters with these values. page and per_page are the fake's own.
	Query map[string]string `json:"query,omitempty"`
	// Status is the HTTP status; 0 means 200.
	Status int `json:"status,omitempty"`
	// File names the body file, relative to the fixture directory. Load
	// reads it into Body.
	File string `json:"file,omitempty"`
	// Body is the response body, served verbatim (a JSON array with status
	// 200 is paginated).
	Body json.RawMessage `json:"body,omitempty"`
	// Headers are extra response headers.
	Headers map[string]string `json:"headers,omitempty"`
}

// Fixture is a set of routes.
type Fixture struct {
	// Dir is the directory the fixture was loaded from, if any.
	Dir    string
	Routes []Route
}

// Load reads DIR/routes.json and the body files it names. Unknown keys,
// duplicate routes and files outside DIR are errors.
func Load(dir string) (*Fixture, error) {
	data, err := os.ReadFile(filepath.Join(dir, RoutesFile))
	if err != nil {
		return nil, fmt.Errorf("loading fixture: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	f := &Fixture{Dir: dir}
	if err := dec.Decode(&f.Routes); err != nil {
		return nil, fmt.Errorf("loading fixture %s: %w", filepath.Join(dir, RoutesFile), err)
	}
	for i := range f.Routes {
		if err := f.Routes[i].resolve(dir); err != nil {
			return nil, fmt.Errorf("loading fixture %s: route %d (%s): %w", filepath.Join(dir, RoutesFile), i, f.Routes[i].Path, err)
		}
	}
	extra, err := filepath.Glob(filepath.Join(dir, RoutesDir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("loading fixture %s: %w", dir, err)
	}
	slices.Sort(extra)
	for _, name := range extra {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("loading fixture: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var routes []Route
		if err := dec.Decode(&routes); err != nil {
			return nil, fmt.Errorf("loading fixture %s: %w", name, err)
		}
		for i := range routes {
			if err := routes[i].resolve(dir); err != nil {
				return nil, fmt.Errorf("loading fixture %s: route %d (%s): %w", name, i, routes[i].Path, err)
			}
		}
		f.Routes = append(f.Routes, routes...)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("loading fixture %s: %w", dir, err)
	}
	return f, nil
}

// resolve fills in defaults and reads the body file.
func (r *Route) resolve(dir string) error {
	if r.File == "" {
		return nil
	}
	if len(r.Body) > 0 {
		return errors.New("give file or body, not both")
	}
	if !filepath.IsLocal(r.File) {
		return fmt.Errorf("file %q must be a relative path inside the fixture directory", r.File)
	}
	body, err := os.ReadFile(filepath.Join(dir, r.File))
	if err != nil {
		return err
	}
	r.Body = body
	return nil
}

// method is the route's method with the default applied.
func (r Route) method() string {
	if r.Method == "" {
		return http.MethodGet
	}
	return strings.ToUpper(r.Method)
}

// status is the route's status with the default applied.
func (r Route) status() int {
	if r.Status == 0 {
		return http.StatusOK
	}
	return r.Status
}

// key identifies a route for duplicate detection.
func (r Route) key() string {
	q := make([]string, 0, len(r.Query))
	for k, v := range r.Query {
		q = append(q, k+"="+v)
	}
	slices.Sort(q)
	return r.method() + " " + r.Path + "?" + strings.Join(q, "&")
}

// Validate checks every route: an absolute path, a valid status, no
// duplicates.
func (f *Fixture) Validate() error {
	seen := map[string]int{}
	for i, r := range f.Routes {
		switch {
		case !strings.HasPrefix(r.Path, "/"):
			return fmt.Errorf("route %d: path %q must start with /", i, r.Path)
		case strings.ContainsAny(r.Path, "?#"):
			return fmt.Errorf("route %d: path %q must not carry a query; use \"query\"", i, r.Path)
		case r.Status != 0 && (r.Status < 100 || r.Status > 599):
			return fmt.Errorf("route %d (%s): status %d is not an HTTP status", i, r.Path, r.Status)
		}
		if _, ok := r.Query["page"]; ok {
			return fmt.Errorf("route %d (%s): page is the fake's own query parameter", i, r.Path)
		}
		if _, ok := r.Query["per_page"]; ok {
			return fmt.Errorf("route %d (%s): per_page is the fake's own query parameter", i, r.Path)
		}
		if j, dup := seen[r.key()]; dup {
			return fmt.Errorf("route %d (%s) duplicates route %d", i, r.Path, j)
		}
		seen[r.key()] = i
	}
	return nil
}
