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
	name := filepath.Join(dir, RoutesFile)
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("loading fake Cloudflare fixture: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	f := &Fixture{Dir: dir}
	if err := dec.Decode(&f.Routes); err != nil {
		return nil, fmt.Errorf("loading fake Cloudflare fixture %s: %w", name, err)
	}
	for i := range f.Routes {
		if err := f.Routes[i].resolve(dir); err != nil {
			return nil, fmt.Errorf("loading fake Cloudflare fixture %s: route %d (%s): %w", name, i, f.Routes[i].Path, err)
		}
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("loading fake Cloudflare fixture %s: %w", name, err)
	}
	return f, nil
}

// resolve reads the route's file.
func (r *Route) resolve(dir string) error {
	if r.File == "" {
		return nil
	}
	if len(r.Result) > 0 {
		return errors.New("give file or result, not both")
	}
	if !filepath.IsLocal(r.File) {
		return fmt.Errorf("file %q must be a relative path inside the fixture directory", r.File)
	}
	body, err := os.ReadFile(filepath.Join(dir, r.File))
	if err != nil {
		return err
	}
	r.Result = body
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

// Validate checks every route: an absolute path, a valid status, a result
// that is JSON where the envelope needs one, no duplicates.
func (f *Fixture) Validate() error {
	seen := map[string]int{}
	for i, r := range f.Routes {
		ok := r.status() < 300
		switch {
		case !strings.HasPrefix(r.Path, "/"):
			return fmt.Errorf("route %d: path %q must start with /", i, r.Path)
		case strings.ContainsAny(r.Path, "?#"):
			return fmt.Errorf("route %d: path %q must not carry a query; use \"query\"", i, r.Path)
		case r.Status != 0 && (r.Status < 100 || r.Status > 599):
			return fmt.Errorf("route %d (%s): status %d is not an HTTP status", i, r.Path, r.Status)
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
		for _, p := range []string{"page", "per_page"} {
			if _, ok := r.Query[p]; ok {
				return fmt.Errorf("route %d (%s): %s is the fake's own query parameter", i, r.Path, p)
			}
		}
		if j, dup := seen[r.key()]; dup {
			return fmt.Errorf("route %d (%s) duplicates route %d", i, r.Path, j)
		}
		seen[r.key()] = i
	}
	return nil
}
