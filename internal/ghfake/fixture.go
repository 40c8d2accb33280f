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
//
// The server answers GitHub's GraphQL API too, at POST /api/graphql beside
// the default /api/v3/ (BASE + "graphql" under another base path; see
// gqlfake.PathFor), from the same routes: gqlfake resolves every field from
// the REST answers in-process (Answer), so GraphQL and REST never disagree.
// A query is one request, counted under /graphql against a budget of its
// own (X-RateLimit-Resource: graphql, one point a query); the REST answers
// it reads are not counted.
package ghfake

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/changeproof/changeproof/internal/fakeapi"
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
	const what = "loading fixture"
	routes, err := fakeapi.ReadRoutes(what, filepath.Join(dir, RoutesFile), dir, (*Route).resolve, Route.spec)
	if err != nil {
		return nil, err
	}
	f := &Fixture{Dir: dir, Routes: routes}
	extra, err := filepath.Glob(filepath.Join(dir, RoutesDir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, dir, err)
	}
	slices.Sort(extra)
	for _, name := range extra {
		routes, err := fakeapi.ReadRoutes(what, name, dir, (*Route).resolve, Route.spec)
		if err != nil {
			return nil, err
		}
		f.Routes = append(f.Routes, routes...)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, dir, err)
	}
	return f, nil
}

// resolve reads the body file.
func (r *Route) resolve(dir string) error {
	body, err := fakeapi.ReadBodyFile(dir, r.File, r.Body, "body")
	if err != nil {
		return err
	}
	r.Body = body
	return nil
}

func (r Route) spec() fakeapi.Spec {
	return fakeapi.Spec{Method: r.Method, Path: r.Path, Query: r.Query, Status: r.Status}
}

// method is the route's method with the default applied.
func (r Route) method() string { return r.spec().MethodOrGet() }

// status is the route's status with the default applied.
func (r Route) status() int { return r.spec().StatusOrOK() }

// Validate checks every route: an absolute path, a valid status, no
// duplicates.
func (f *Fixture) Validate() error {
	return fakeapi.Validate(f.Routes, Route.spec, nil)
}
