// Package cffake is a fake Cloudflare API at the HTTP boundary.
//
// A Fixture is a list of routes, each a canned answer to one method and
// path. The Server serves them under a non-empty base path (default
// /client/v4/, as api.cloudflare.com does) in Cloudflare's documented
// envelope:
//
//	{"result": ..., "success": true, "errors": [], "messages": [],
//	 "result_info": {"page", "per_page", "count", "total_count", "total_pages"}}
//
// Like Cloudflare it paginates array results itself by page and per_page
// (result_info only on paginated results), answers failures with
// "success": false and errors [{code, message}], answers unknown routes with
// 404 (7000 No route for that URI), can require a bearer token, and counts
// requests per path.
//
// Fixtures live in a directory holding routes.json:
//
//	[
//	  {"path": "/accounts/ACCOUNT/pages/projects/web", "file": "pages-web.json"},
//	  {"path": "/accounts/ACCOUNT/workers/scripts/api/versions", "file": "versions.json", "items": "items"},
//	  {"path": "/accounts/ACCOUNT/workers/scripts/api/deployments", "file": "deployments.json", "unpaged": true},
//	  {"path": "/accounts/ACCOUNT/workers/scripts/secret/deployments", "status": 403,
//	   "errors": [{"code": 10000, "message": "Authentication error"}]},
//	  {"path": "/accounts/ACCOUNT/builds/builds", "query": {"version_ids": "a,b"}, "result": {"builds": {}}}
//	]
//
// method defaults to GET and status to 200. file (relative to the directory)
// or result (inline JSON) is the "result" value; an array result is
// paginated, and so is the array under "items" of an object result. A route
// with "unpaged": true serves its result whole, with no result_info, whatever
// page and per_page ask: Cloudflare's endpoints that do not paginate, such as
// a Worker's deployments ({"deployments": [...]}, the most recent only). A route
// with "raw": true serves its file or result verbatim as the whole body, with
// no envelope (malformed JSON, a "success": false envelope with status 200).
// errors and messages go in the envelope of a failure (default errors by
// status). Decoding is strict: unknown keys are errors.
package cffake

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/changeproof/changeproof/internal/fakeapi"
)

// RoutesFile is the name of a fixture directory's route list.
const RoutesFile = "routes.json"

// Message is one entry of an envelope's errors or messages.
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Route is one canned answer.
type Route struct {
	// Method is the HTTP method; empty means GET.
	Method string `json:"method,omitempty"`
	// Path is the API path below the base path, e.g.
	// "/accounts/0123…/pages/projects/web/deployments".
	Path string `json:"path"`
	// Query, when set, restricts the route to requests carrying these query
	// parameters with these values. page and per_page are the fake's own.
	Query map[string]string `json:"query,omitempty"`
	// Status is the HTTP status; 0 means 200.
	Status int `json:"status,omitempty"`
	// File names the file holding the result (or, with Raw, the whole
	// body), relative to the fixture directory. Load reads it into Result.
	File string `json:"file,omitempty"`
	// Result is the "result" value (or, with Raw, the whole body).
	Result json.RawMessage `json:"result,omitempty"`
	// Items names the array inside an object result to paginate, e.g.
	// "items" or "deployments"; empty paginates an array result.
	Items string `json:"items,omitempty"`
	// Unpaged serves Result whole, without result_info, as Cloudflare
	// answers an endpoint that is not paginated (Workers deployments).
	Unpaged bool `json:"unpaged,omitempty"`
	// Raw serves Result verbatim as the body, without the envelope.
	Raw bool `json:"raw,omitempty"`
	// Errors and Messages go in the envelope; a failure without Errors gets
	// Cloudflare's usual error for its status.
	Errors   []Message `json:"errors,omitempty"`
	Messages []Message `json:"messages,omitempty"`
	// Headers are extra response headers, e.g. Retry-After.
	Headers map[string]string `json:"headers,omitempty"`
}

// Fixture is a set of routes.
type Fixture struct {
	// Dir is the directory the fixture was loaded from, if any.
	Dir    string
	Routes []Route
}

// Load reads DIR/routes.json and the files it names. Unknown keys, duplicate
// routes, files outside DIR and results that are not JSON are errors.
func Load(dir string) (*Fixture, error) {
	const what = "loading fake Cloudflare fixture"
	name := filepath.Join(dir, RoutesFile)
	routes, err := fakeapi.ReadRoutes(what, name, dir, (*Route).resolve, Route.spec)
	if err != nil {
		return nil, err
	}
	f := &Fixture{Dir: dir, Routes: routes}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, name, err)
	}
	return f, nil
}

// resolve reads the route's file.
func (r *Route) resolve(dir string) error {
	result, err := fakeapi.ReadBodyFile(dir, r.File, r.Result, "result")
	if err != nil {
		return err
	}
	r.Result = result
	return nil
}

func (r Route) spec() fakeapi.Spec {
	return fakeapi.Spec{Method: r.Method, Path: r.Path, Query: r.Query, Status: r.Status}
}

// method is the route's method with the default applied.
func (r Route) method() string { return r.spec().MethodOrGet() }

// status is the route's status with the default applied.
func (r Route) status() int { return r.spec().StatusOrOK() }

// Validate checks every route: an absolute path, a valid status, a result
// that is JSON where the envelope needs one, no duplicates.
func (f *Fixture) Validate() error {
	return fakeapi.Validate(f.Routes, Route.spec, check)
}

// check applies the envelope's rules to route i.
func check(i int, r Route) error {
	ok := r.status() < 300
	switch {
	case r.Raw && len(r.Result) == 0:
		return fmt.Errorf("route %d (%s): a raw route needs a file or result (the body)", i, r.Path)
	case r.Raw && (r.Items != "" || len(r.Errors) > 0 || len(r.Messages) > 0):
		return fmt.Errorf("route %d (%s): a raw route is served verbatim: items, errors and messages do not apply", i, r.Path)
	case !r.Raw && ok && len(r.Result) == 0:
		return fmt.Errorf("route %d (%s): a successful route needs a file or result", i, r.Path)
	case !r.Raw && len(r.Result) > 0 && !json.Valid(r.Result):
		return fmt.Errorf("route %d (%s): the result is not valid JSON (use \"raw\": true to serve a malformed body)", i, r.Path)
	case !r.Raw && !ok && len(r.Result) > 0:
		return fmt.Errorf("route %d (%s): a failure has no result; give errors", i, r.Path)
	case ok && len(r.Errors) > 0:
		return fmt.Errorf("route %d (%s): errors belong to a failure status (or a raw route)", i, r.Path)
	case r.Items != "" && !ok:
		return fmt.Errorf("route %d (%s): items applies to a successful route", i, r.Path)
	case r.Unpaged && (r.Items != "" || r.Raw || !ok):
		return fmt.Errorf("route %d (%s): unpaged applies to a successful enveloped route, without items (nothing is paginated)", i, r.Path)
	}
	if r.Items != "" {
		var obj map[string]json.RawMessage
		var arr []json.RawMessage
		if json.Unmarshal(r.Result, &obj) != nil || json.Unmarshal(obj[r.Items], &arr) != nil || arr == nil {
			return fmt.Errorf("route %d (%s): the result has no %q array to paginate", i, r.Path, r.Items)
		}
	}
	return nil
}
