package cffake

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	basePath   string
	token      string
	maxPerPage int
	log        *slog.Logger
	routes     map[string][]*compiled

	mu     sync.Mutex
	total  int
	byPath map[string]int
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
	return func(s *Server) {
		p = "/" + strings.Trim(p, "/") + "/"
		if p != "/" && p != "//" {
			s.basePath = p
		}
	}
}

// WithToken requires "Authorization: Bearer TOKEN" on every request: no or a
// malformed header gets 400 (6003 Invalid request headers), another token
// 403 (9109 Invalid access token).
func WithToken(tok string) Option { return func(s *Server) { s.token = tok } }

// WithMaxPerPage lowers the largest page served (default MaxPerPage), so
// tests exercise pagination with few items.
func WithMaxPerPage(n int) Option {
	return func(s *Server) {
		if n > 0 {
			s.maxPerPage = n
		}
	}
}

// WithLogger logs every request at debug level.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		if l != nil {
			s.log = l
		}
	}
}

// New builds a server for a fixture, which should have passed Validate (Load
// does that). Of several routes matching a request, the one with the most
// query conditions wins, then the earliest.
func New(f *Fixture, opts ...Option) *Server {
	s := &Server{
		basePath:   DefaultBasePath,
		maxPerPage: MaxPerPage,
		log:        slog.New(slog.DiscardHandler),
		byPath:     map[string]int{},
		routes:     map[string][]*compiled{},
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
		key := r.method() + " " + r.Path
		s.routes[key] = append(s.routes[key], c)
	}
	return s
}

// URL is the API base URL for a server listening at root, without a
// trailing slash as Cloudflare writes it: URL("http://127.0.0.1:8080") is
// "http://127.0.0.1:8080/client/v4".
func (s *Server) URL(root string) string {
	return strings.TrimSuffix(root, "/") + strings.TrimSuffix(s.basePath, "/")
}

// Requests is the number of requests received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// RequestsByPath counts requests by API path (below the base path, without
// the query); requests outside the base path are counted by their full path.
func (s *Server) RequestsByPath() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.byPath)
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	apiPath, inBase := strings.CutPrefix(r.URL.Path, s.basePath)
	if inBase {
		apiPath = "/" + apiPath
	}
	s.mu.Lock()
	s.total++
	s.byPath[apiPath]++
	seq := s.total
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cf-Ray", fmt.Sprintf("%016x-FAKE", seq))
	status := s.respond(w, r, apiPath, inBase)
	s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", status)
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request, apiPath string, inBase bool) int {
	if !inBase {
		return writeFailure(w, http.StatusNotFound, []Message{{CodeNoRoute, "No route for that URI"}}, nil)
	}
	if status, msg, ok := s.authorize(r); !ok {
		return writeFailure(w, status, []Message{msg}, nil)
	}
	route := s.match(r.Method, apiPath, r.URL.Query())
	if route == nil {
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
	if s.token == "" {
		return 0, Message{}, true
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return http.StatusBadRequest, Message{CodeBadHeaders, "Invalid request headers"}, false
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		return http.StatusForbidden, Message{CodeInvalidToken, "Invalid access token"}, false
	}
	return 0, Message{}, true
}

// match finds the route for a request: same method and path, every query
// condition met; the most specific wins.
func (s *Server) match(method, apiPath string, q url.Values) *compiled {
	var best *compiled
	for _, c := range s.routes[method+" "+apiPath] {
		ok := true
		for k, v := range c.Query {
			if !slices.Contains(q[k], v) {
				ok = false
				break
			}
		}
		if ok && (best == nil || len(c.Query) > len(best.Query)) {
			best = c
		}
	}
	return best
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
	perPage := min(intParam(q, "per_page", DefaultPerPage), s.maxPerPage)
	page := intParam(q, "page", 1)
	n := len(c.items)
	start := min((page-1)*perPage, n)
	end := min(start+perPage, n)
	var arr bytes.Buffer
	arr.WriteByte('[')
	for i, it := range c.items[start:end] {
		if i > 0 {
			arr.WriteByte(',')
		}
		arr.Write(it)
	}
	arr.WriteByte(']')
	result := arr.Bytes()
	if c.Items != "" {
		// Written by hand: json.Marshal would compact the items, which
		// must stay byte for byte as in the fixture.
		obj := maps.Clone(c.rest)
		if obj == nil {
			obj = map[string]json.RawMessage{}
		}
		obj[c.Items] = result
		keys := slices.Sorted(maps.Keys(obj))
		var b bytes.Buffer
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			b.Write(obj[k])
		}
		b.WriteByte('}')
		result = b.Bytes()
	}
	info, _ := json.Marshal(resultInfo{Page: page, PerPage: perPage, Count: end - start, TotalCount: n,
		TotalPages: max(1, (n+perPage-1)/perPage)})
	return result, info
}

// intParam reads a positive integer query parameter, or def.
func intParam(q url.Values, name string, def int) int {
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < 1 {
		return def
	}
	return n
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
