package ghfake

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/changeproof/changeproof/internal/fakeapi"
	"github.com/changeproof/changeproof/internal/gqlfake"
)

const (
	// DefaultBasePath is where the API is mounted unless WithBasePath says
	// otherwise: GitHub Enterprise Server's layout.
	DefaultBasePath = "/api/v3/"
	// DefaultPerPage and MaxPerPage are GitHub's page sizes.
	DefaultPerPage = 30
	MaxPerPage     = 100
	// DefaultRateLimit is the X-RateLimit-Limit of a token on github.com,
	// for REST requests and, separately, for GraphQL points.
	DefaultRateLimit = 5000
	// GraphQLCountPath is the path GraphQL requests are counted under in
	// RequestsByPath, wherever the endpoint is.
	GraphQLCountPath = "/graphql"
	// docsURL is the documentation_url of the fake's own error bodies.
	docsURL = "https://docs.github.com/rest"
)

// Server serves a Fixture. It is an http.Handler and safe for concurrent
// use.
type Server struct {
	core      fakeapi.Core
	rateLimit int
	now       func() time.Time
	routes    fakeapi.Routes[*compiled]
	app       *app // set by WithApp
	graphql   *gqlfake.Handler

	mu      sync.Mutex
	rest    window // the REST budget
	graphQL window // the GraphQL budget, GitHub's separate one
}

// window is a rate-limit budget's current window.
type window struct {
	used  int       // requests in the current window
	reset time.Time // end of the current window
}

// compiled is a route ready to serve; items holds the elements of a JSON
// array body, nil for anything else.
type compiled struct {
	Route
	items []json.RawMessage
	// object and key are set for an object body whose listing GitHub pages
	// (check runs, statuses, workflow runs): the page replaces object[key].
	object map[string]json.RawMessage
	key    string
}

// PagedKeys are the arrays GitHub pages inside object bodies, as
// {"total_count": N, "check_runs": [...]}; the fake pages them too.
var PagedKeys = []string{"check_runs", "check_suites", "statuses", "workflow_runs", "workflows", "jobs"}

// Option configures a Server.
type Option func(*Server)

// WithBasePath mounts the API under p instead of DefaultBasePath. "/" is
// refused (silently kept at the default): the point of a base path is that
// absolute-URL mistakes in clients fail.
func WithBasePath(p string) Option {
	return func(s *Server) { s.core.SetBasePath(p) }
}

// WithToken requires "Authorization: Bearer TOKEN" (or "token TOKEN") on
// every request; anything else gets 401 Bad credentials.
func WithToken(tok string) Option { return func(s *Server) { s.core.Token = tok } }

// WithMaxPerPage lowers the largest page the fake serves (default
// MaxPerPage), so tests exercise pagination with few items.
func WithMaxPerPage(n int) Option {
	return func(s *Server) { s.core.SetMaxPerPage(n) }
}

// WithRateLimit sets X-RateLimit-Limit (default DefaultRateLimit), of the
// REST budget and of the separate GraphQL budget.
func WithRateLimit(n int) Option {
	return func(s *Server) {
		if n > 1 {
			s.rateLimit = n
		}
	}
}

// WithLogger logs every request at debug level.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) { s.core.SetLogger(l) }
}

// WithClock sets the clock behind X-RateLimit-Reset and WithApp's JWT and
// token expiry checks.
func WithClock(now func() time.Time) Option {
	return func(s *Server) {
		if now != nil {
			s.now = now
		}
	}
}

// New builds a server for a fixture, which should have passed Validate (Load
// does that). Of several routes matching a request, the one with the most
// query conditions wins, then the earliest.
func New(f *Fixture, opts ...Option) *Server {
	s := &Server{
		core:      fakeapi.Core{BasePath: DefaultBasePath, MaxPerPage: MaxPerPage, Log: slog.New(slog.DiscardHandler)},
		rateLimit: DefaultRateLimit,
		now:       time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	for _, r := range f.Routes {
		c := &compiled{Route: r}
		if r.status() == http.StatusOK {
			var items []json.RawMessage
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &items); err == nil && items != nil {
				c.items = items
			} else if err := json.Unmarshal(r.Body, &obj); err == nil {
				for _, k := range PagedKeys {
					if err := json.Unmarshal(obj[k], &items); err == nil && items != nil {
						c.items, c.object, c.key = items, obj, k
						break
					}
				}
			}
		}
		s.routes.Add(r.spec(), c)
	}
	// GraphQL clients never see REST pages: the in-process answers page at
	// GitHub's size, whatever WithMaxPerPage says.
	s.graphql = gqlfake.New(func(_ context.Context, method, apiPath string, q url.Values) (int, []byte) {
		return s.answer(method, apiPath, q, MaxPerPage)
	})
	return s
}

// BasePath is the path the API is mounted under, with slashes at both ends.
func (s *Server) BasePath() string { return s.core.BasePath }

// URL is the API base URL for a server listening at root, e.g.
// URL("http://127.0.0.1:8080") is "http://127.0.0.1:8080/api/v3/".
func (s *Server) URL(root string) string { return strings.TrimSuffix(root, "/") + s.core.BasePath }

// GraphQLPath is the path of the GraphQL endpoint: /api/graphql beside the
// default /api/v3/, else the base path + "graphql" (gqlfake.PathFor).
func (s *Server) GraphQLPath() string { return gqlfake.PathFor(s.core.BasePath) }

// GraphQLURL is the GraphQL endpoint's URL for a server listening at root.
func (s *Server) GraphQLURL(root string) string {
	return strings.TrimSuffix(root, "/") + s.GraphQLPath()
}

// Requests is the number of requests received.
func (s *Server) Requests() int { return s.core.Requests() }

// RequestsByPath counts requests by API path (below the base path, without
// the query); requests outside the base path are counted by their full path.
func (s *Server) RequestsByPath() map[string]int { return s.core.RequestsByPath() }

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == s.GraphQLPath() {
		s.serveGraphQL(w, r)
		return
	}
	apiPath, inBase := s.core.APIPath(r.URL.Path)
	rl := s.record(apiPath, &s.rest)
	s.setHeaders(w, rl, "core")
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	status := s.respond(w, r, apiPath, inBase)
	s.core.Log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", status)
}

// serveGraphQL answers a request to the GraphQL endpoint: authorised as
// REST requests are, counted once under GraphQLCountPath against the
// GraphQL budget (one point a query), answered by gqlfake from the
// fixture's REST answers (Answer: not counted, not rate limited).
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	rl := s.record(GraphQLCountPath, &s.graphQL)
	s.setHeaders(w, rl, "graphql")
	w.Header().Set("X-GitHub-Media-Type", "github.v4; format=json")
	if !s.authorized(r) {
		writeMessage(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	s.graphql.ServeHTTP(w, r)
	s.core.Log.Debug("graphql request", "method", r.Method, "path", r.URL.Path)
}

// setHeaders sets the headers of every answer: the request id and the
// rate-limit state of the budget (resource) it counted against.
func (s *Server) setHeaders(w http.ResponseWriter, rl rateState, resource string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%06d", rl.seq))
	h.Set("X-RateLimit-Limit", strconv.Itoa(rl.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rl.limit-rl.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(rl.reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(rl.used))
	h.Set("X-RateLimit-Resource", resource)
}

// Answer answers a REST request in-process: the status and body ServeHTTP
// would send for method, apiPath (below the base path) and query, pages
// included, without authorisation, counting, rate limit or headers. The
// GraphQL endpoint resolves its fields from it.
func (s *Server) Answer(method, apiPath string, q url.Values) (status int, body []byte) {
	return s.answer(method, apiPath, q, s.core.MaxPerPage)
}

// answer is Answer with pages of at most most items.
func (s *Server) answer(method, apiPath string, q url.Values, most int) (status int, body []byte) {
	route, ok := s.routes.Match(method, apiPath, q)
	if !ok {
		return http.StatusNotFound, messageBody("Not Found")
	}
	body = []byte(route.Body)
	if route.items != nil {
		body, _, _ = page(route, q, most)
	}
	return route.status(), body
}

// respond writes the response and returns its status.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, apiPath string, inBase bool) int {
	if !inBase {
		return writeMessage(w, http.StatusNotFound, "Not Found")
	}
	if status, ok := s.serveAppToken(w, r, apiPath); ok {
		return status
	}
	if !s.authorized(r) {
		return writeMessage(w, http.StatusUnauthorized, "Bad credentials")
	}
	route, ok := s.routes.Match(r.Method, apiPath, r.URL.Query())
	if !ok {
		return writeMessage(w, http.StatusNotFound, "Not Found")
	}
	for k, v := range route.Headers {
		w.Header().Set(k, v)
	}
	body := []byte(route.Body)
	if route.items != nil {
		var n, last int
		body, n, last = page(route, r.URL.Query(), s.core.MaxPerPage)
		if link := linkHeader(r, n, last); link != "" {
			w.Header().Set("Link", link)
		}
	}
	status := route.status()
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

// rateState is the rate-limit window as seen by one request.
type rateState struct {
	seq, limit, used int
	reset            time.Time
}

// record counts a request and advances the window of its budget. The fake
// never exhausts a budget: when only one request would remain it starts a
// new window, so long benchmark runs are not stopped by a client that
// honours X-RateLimit-Remaining: 0.
func (s *Server) record(apiPath string, b *window) rateState {
	now := s.now()
	seq := s.core.Count(apiPath)
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.reset.IsZero() || !now.Before(b.reset) || b.used >= s.rateLimit-1 {
		b.used = 0
		b.reset = now.Add(time.Hour).Truncate(time.Second)
	}
	b.used++
	return rateState{seq: seq, limit: s.rateLimit, used: b.used, reset: b.reset}
}

func (s *Server) authorized(r *http.Request) bool {
	if s.core.Token == "" && s.app == nil {
		return true
	}
	tok, ok := fakeapi.Credentials(r, "Bearer", "token")
	if !ok {
		return false
	}
	if s.core.Token != "" && s.core.TokenIs(tok) {
		return true
	}
	return s.app != nil && s.app.acceptsToken(tok, s.now())
}

// page returns the requested page (of at most most items) of the route's
// items, its number and the last page's (for the Link header). An object
// body that fits one page is served byte for byte; a longer one is
// re-encoded around the page of its listing.
func page(route *compiled, q url.Values, most int) (body []byte, page, last int) {
	items := route.items
	page, perPage, start, end := fakeapi.Page(q, DefaultPerPage, most, len(items))
	last = max(1, (len(items)+perPage-1)/perPage)
	if route.object != nil && last == 1 && page == 1 {
		return []byte(route.Body), page, last
	}
	arr := fakeapi.JoinArray(items[start:end])
	if route.object == nil {
		return arr, page, last
	}
	// The object again, keys sorted, each value byte for byte.
	obj := maps.Clone(route.object)
	obj[route.key] = arr
	return fakeapi.JoinObject(obj, ", ", ": "), page, last
}

// linkHeader builds an RFC 5988 Link header for page of last.
func linkHeader(r *http.Request, page, last int) string {
	pageURL := func(n int) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath}
		if r.TLS != nil {
			u.Scheme = "https"
		}
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		u.RawQuery = q.Encode()
		return u.String()
	}
	var links []string
	add := func(n int, rel string) { links = append(links, fmt.Sprintf("<%s>; rel=%q", pageURL(n), rel)) }
	if page > 1 {
		add(min(page-1, last), "prev")
	}
	if page < last {
		add(page+1, "next")
		add(last, "last")
	}
	if page > 1 {
		add(1, "first")
	}
	return strings.Join(links, ", ")
}

// writeMessage writes a GitHub-style error body.
func writeMessage(w http.ResponseWriter, status int, msg string) int {
	w.WriteHeader(status)
	_, _ = w.Write(messageBody(msg))
	return status
}

// messageBody is a GitHub-style error body.
func messageBody(msg string) []byte {
	body, _ := json.Marshal(struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
	}{msg, docsURL})
	return body
}
