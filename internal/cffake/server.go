package cffake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/changeproof/changeproof/internal/fakeapi"
)

const (
	// DefaultBasePath is where the API is mounted unless WithBasePath says
	// otherwise: api.cloudflare.com's layout.
	DefaultBasePath = "/client/v4/"
	// DefaultPerPage and MaxPerPage are the page sizes served when the
	// request names none, and at most.
	DefaultPerPage = 20
	MaxPerPage     = 100
)

// Cloudflare's error codes the fake answers with.
const (
	CodeNoRoute        = 7000
	CodeBadIdentifier  = 7003
	CodeAuthentication = 10000
	CodeInvalidToken   = 9109
	CodeBadHeaders     = 6003
	CodeRateLimited    = 971
	CodeInternal       = 1000
)

// Server serves a Fixture. It is an http.Handler and safe for concurrent
// use.
type Server struct {
	core   fakeapi.Core
	routes fakeapi.Routes[*compiled]
}

// compiled is a route ready to serve; items holds the elements of the array
// to paginate, nil for anything else.
type compiled struct {
	Route
	items []json.RawMessage
	// rest are the other members of an object result whose Items array is
	// paginated.
	rest map[string]json.RawMessage
}

// Option configures a Server.
type Option func(*Server)

// WithBasePath mounts the API under p instead of DefaultBasePath. "/" is
// refused (silently kept at the default): a base path makes absolute-URL
// mistakes in clients fail.
func WithBasePath(p string) Option {
	return func(s *Server) { s.core.SetBasePath(p) }
}

// WithToken requires "Authorization: Bearer TOKEN" on every request: no or a
// malformed header gets 400 (6003 Invalid request headers), another token
// 403 (9109 Invalid access token).
func WithToken(tok string) Option { return func(s *Server) { s.core.Token = tok } }

// WithMaxPerPage lowers the largest page served (default MaxPerPage), so
// tests exercise pagination with few items.
func WithMaxPerPage(n int) Option {
	return func(s *Server) { s.core.SetMaxPerPage(n) }
}

// WithLogger logs every request at debug level.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) { s.core.SetLogger(l) }
}

// New builds a server for a fixture, which should have passed Validate (Load
// does that). Of several routes matching a request, the one with the most
// query conditions wins, then the earliest.
func New(f *Fixture, opts ...Option) *Server {
	s := &Server{
		core: fakeapi.Core{BasePath: DefaultBasePath, MaxPerPage: MaxPerPage, Log: slog.New(slog.DiscardHandler)},
	}
	for _, o := range opts {
		o(s)
	}
	for _, r := range f.Routes {
		c := &compiled{Route: r}
		if !r.Raw && !r.Unpaged && r.status() < 300 {
			if r.Items == "" {
				var items []json.RawMessage
				if err := json.Unmarshal(r.Result, &items); err == nil && items != nil {
					c.items = items
				}
			} else {
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(r.Result, &obj); err == nil {
					var items []json.RawMessage
					if err := json.Unmarshal(obj[r.Items], &items); err == nil && items != nil {
						c.items = items
						delete(obj, r.Items)
						c.rest = obj
					}
				}
			}
		}
		s.routes.Add(r.spec(), c)
	}
	return s
}

// URL is the API base URL for a server listening at root, without a
// trailing slash as Cloudflare writes it: URL("http://127.0.0.1:8080") is
// "http://127.0.0.1:8080/client/v4".
func (s *Server) URL(root string) string {
	return strings.TrimSuffix(root, "/") + strings.TrimSuffix(s.core.BasePath, "/")
}

// Requests is the number of requests received.
func (s *Server) Requests() int { return s.core.Requests() }

// RequestsByPath counts requests by API path (below the base path, without
// the query); requests outside the base path are counted by their full path.
func (s *Server) RequestsByPath() map[string]int { return s.core.RequestsByPath() }

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	apiPath, inBase := s.core.APIPath(r.URL.Path)
	seq := s.core.Count(apiPath)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cf-Ray", fmt.Sprintf("%016x-FAKE", seq))
	status := s.respond(w, r, apiPath, inBase)
	s.core.Log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", status)
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request, apiPath string, inBase bool) int {
	if !inBase {
		return writeFailure(w, http.StatusNotFound, []Message{{CodeNoRoute, "No route for that URI"}}, nil)
	}
	if status, msg, ok := s.authorize(r); !ok {
		return writeFailure(w, status, []Message{msg}, nil)
	}
	route, ok := s.routes.Match(r.Method, apiPath, r.URL.Query())
	if !ok {
		return writeFailure(w, http.StatusNotFound, []Message{{CodeNoRoute, "No route for that URI"}}, nil)
	}
	for k, v := range route.Headers {
		w.Header().Set(k, v)
	}
	status := route.status()
	switch {
	case route.Raw:
		w.WriteHeader(status)
		_, _ = w.Write(route.Result)
		return status
	case status >= 300:
		errs := route.Errors
		if len(errs) == 0 {
			errs = []Message{defaultError(status, apiPath)}
		}
		return writeFailure(w, status, errs, route.Messages)
	}
	result, info := []byte(route.Result), []byte(nil)
	if route.items != nil {
		result, info = s.paginate(r.URL.Query(), route)
	}
	var b bytes.Buffer
	b.WriteString(`{"result":`)
	b.Write(result)
	b.WriteString(`,"success":true,"errors":[],"messages":`)
	b.Write(messagesJSON(route.Messages))
	if info != nil {
		b.WriteString(`,"result_info":`)
		b.Write(info)
	}
	b.WriteString("}")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
	return status
}

// authorize checks the bearer token, if one is required.
func (s *Server) authorize(r *http.Request) (int, Message, bool) {
	if s.core.Token == "" {
		return 0, Message{}, true
	}
	tok, ok := fakeapi.Credentials(r, "Bearer")
	if !ok || tok == "" {
		return http.StatusBadRequest, Message{CodeBadHeaders, "Invalid request headers"}, false
	}
	if !s.core.TokenIs(tok) {
		return http.StatusForbidden, Message{CodeInvalidToken, "Invalid access token"}, false
	}
	return 0, Message{}, true
}

// resultInfo is Cloudflare's pagination object.
type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// paginate returns the requested page of the route's items as its result,
// and the result_info.
func (s *Server) paginate(q url.Values, c *compiled) ([]byte, []byte) {
	n := len(c.items)
	page, perPage, start, end := fakeapi.Page(q, DefaultPerPage, s.core.MaxPerPage, n)
	result := fakeapi.JoinArray(c.items[start:end])
	if c.Items != "" {
		// Written by hand: json.Marshal would compact the items, which
		// must stay byte for byte as in the fixture.
		obj := maps.Clone(c.rest)
		if obj == nil {
			obj = map[string]json.RawMessage{}
		}
		obj[c.Items] = result
		result = fakeapi.JoinObject(obj, ",", ":")
	}
	info, _ := json.Marshal(resultInfo{Page: page, PerPage: perPage, Count: end - start, TotalCount: n,
		TotalPages: max(1, (n+perPage-1)/perPage)})
	return result, info
}

// defaultError is Cloudflare's usual error for a status.
func defaultError(status int, path string) Message {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Message{CodeAuthentication, "Authentication error"}
	case status == http.StatusNotFound:
		return Message{CodeBadIdentifier, "Could not route to " + path + ", perhaps your object identifier is invalid?"}
	case status == http.StatusTooManyRequests:
		return Message{CodeRateLimited, "Please wait and consider throttling your request speed"}
	case status >= 500:
		return Message{CodeInternal, "Internal server error"}
	}
	return Message{CodeInternal, http.StatusText(status)}
}

func messagesJSON(ms []Message) []byte {
	if len(ms) == 0 {
		return []byte("[]")
	}
	b, _ := json.Marshal(ms)
	return b
}

// writeFailure writes Cloudflare's failure envelope.
func writeFailure(w http.ResponseWriter, status int, errs, msgs []Message) int {
	e, _ := json.Marshal(errs)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"result":null,"success":false,"errors":%s,"messages":%s}`, e, messagesJSON(msgs))
	return status
}
