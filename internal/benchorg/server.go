package benchorg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/gqlfake"
)

// Options configure a Server. Zero values take the defaults named.
type Options struct {
	// Latency is added to every request before it is answered.
	Latency time.Duration
	// RateLimit is the primary budget: X-RateLimit-Limit, requests per
	// RateWindow (default ghfake.DefaultRateLimit). Once spent, requests get
	// GitHub's 403 "API rate limit exceeded" with X-RateLimit-Remaining: 0
	// until the window resets.
	RateLimit int
	// GraphQLRateLimit is the GraphQL budget, separate from RateLimit's as
	// on GitHub: points per RateWindow, one point a query (default
	// RateLimit). Once spent, queries get GitHub's answer: 200 with a
	// RATE_LIMITED error and X-RateLimit-Remaining: 0.
	GraphQLRateLimit int
	// RateWindow is how long a budget lasts (default one hour), measured
	// on Now.
	RateWindow time.Duration
	// Now is the clock of the rate-limit window (default time.Now).
	Now func() time.Time
	// Memo keeps every answer (REST by request, GraphQL by request body
	// when successful) and serves it again: the organisation never
	// changes, so neither does an answer. The wall-time benchmark warms it
	// with one collection first, so the fake's own work (building the
	// payloads, and for a GraphQL query parsing the REST payloads of every
	// pull request in it, ~2 ms of CPU each) does not add to the latency
	// it models. Off by default; the memory benchmarks leave it off.
	Memo bool
	// Faults are switched off by default.
	Faults Faults
}

// Faults are seeded failures. Whether attempt n of a request (method, path
// and query; for GraphQL, the body's sha256) fails is a function of Seed,
// the request and n alone, so a run with the same requests sees the same
// faults whatever the order of its concurrent requests. They apply to the
// GraphQL endpoint's outer request (path "/graphql" for Slow and Fail),
// never to the REST answers it is resolved from.
type Faults struct {
	Seed uint64
	// Percent502 of attempts answer 502 Bad Gateway.
	Percent502 float64
	// PercentReset of attempts have their connection closed without an
	// answer (hijacked and closed).
	PercentReset float64
	// PercentSecondary of attempts answer GitHub's secondary rate limit:
	// 403 "You have exceeded a secondary rate limit" with Retry-After.
	PercentSecondary float64
	// RetryAfter is the secondary limit's Retry-After in seconds (default 1).
	RetryAfter int
	// MaxConsecutive bounds the faults of one request in a row (default
	// 2), so a client retrying more often always gets through; negative:
	// unbounded.
	MaxConsecutive int
	// Slow matches request paths (below the API root) answered SlowDelay
	// late, on top of Latency.
	Slow      *regexp.Regexp
	SlowDelay time.Duration
	// Fail matches request paths that always answer 502: data that cannot
	// be obtained however often the client retries.
	Fail *regexp.Regexp
}

// Server serves an Org the way ghfake serves a fixture (base path
// ghfake.DefaultBasePath, GitHub's pagination and error bodies), answering
// each request lazily, and its GraphQL API at POST /api/graphql
// (GraphQLPath), answered by gqlfake from the same REST answers. Safe for
// concurrent use.
type Server struct {
	org     *Org
	opts    Options
	graphql *gqlfake.Handler

	mu         sync.Mutex
	byEndpoint map[string]int
	faults     map[string]int // by fault kind
	attempts   map[string]int // by request
	inARow     map[string]int // consecutive faults by request
	rest       budget
	graphQL    budget
	total      int
	inFlight   int
	maxFlight  int
	memo       map[string]memoAnswer // Options.Memo: GraphQL answers
	restMemo   map[string]restAnswer // Options.Memo: REST answers
}

// budget is a primary rate limit's current window.
type budget struct {
	limit int
	used  int
	reset time.Time
}

// GraphQLPath is the GraphQL endpoint beside the REST API at
// ghfake.DefaultBasePath.
var GraphQLPath = gqlfake.PathFor(ghfake.DefaultBasePath)

// graphQLAPIPath is the GraphQL endpoint as requests are counted (POST
// /graphql) and as Faults.Slow and Faults.Fail see it.
const graphQLAPIPath = "/graphql"

// Fault kinds, as FaultCounts keys them.
const (
	Fault502       = "502"
	FaultReset     = "reset"
	FaultSecondary = "secondary"
	FaultAlways    = "always-failing"
	FaultPrimary   = "primary-rate-limit"
)

// NewServer serves org.
func NewServer(org *Org, opts Options) *Server {
	if opts.RateLimit <= 0 {
		opts.RateLimit = ghfake.DefaultRateLimit
	}
	if opts.GraphQLRateLimit <= 0 {
		opts.GraphQLRateLimit = opts.RateLimit
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Faults.RetryAfter <= 0 {
		opts.Faults.RetryAfter = 1
	}
	if opts.Faults.MaxConsecutive == 0 {
		opts.Faults.MaxConsecutive = 2
	}
	s := &Server{org: org, opts: opts, byEndpoint: map[string]int{}, faults: map[string]int{}, memo: map[string]memoAnswer{}, restMemo: map[string]restAnswer{},
		attempts: map[string]int{}, inARow: map[string]int{},
		rest: budget{limit: opts.RateLimit}, graphQL: budget{limit: opts.GraphQLRateLimit}}
	s.graphql = gqlfake.New(func(_ context.Context, method, apiPath string, q url.Values) (int, []byte) {
		return org.pagedAnswer(method, apiPath, q)
	})
	return s
}

// pagedAnswer is the organisation's answer to a REST request, paged as
// the server pages it (ghfake's pagination), with no latency, counting or
// faults: what the GraphQL endpoint resolves its fields from.
func (o *Org) pagedAnswer(method, apiPath string, q url.Values) (int, []byte) {
	a := o.Answer(method, apiPath, q)
	if a.Status != http.StatusOK || (!q.Has("page") && !q.Has("per_page") && !bytes.HasPrefix(a.Body, []byte("["))) {
		return a.Status, a.Body // not a listing: nothing to page
	}
	fx := &ghfake.Fixture{Routes: []ghfake.Route{{Method: method, Path: apiPath, Status: a.Status, Body: a.Body}}}
	return ghfake.New(fx).Answer(method, apiPath, q)
}

// URL is the API root of a server listening at root.
func (s *Server) URL(root string) string {
	return root + ghfake.DefaultBasePath
}

// GraphQLURL is the GraphQL endpoint of a server listening at root.
func (s *Server) GraphQLURL(root string) string {
	return root + GraphQLPath
}

// Requests is the number of requests received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ByEndpoint counts requests by endpoint template, e.g.
// "GET /repos/{owner}/{repo}/pulls/{number}/reviews", faulted attempts
// included; a GraphQL query is one "POST /graphql", whatever REST answers
// it was resolved from.
func (s *Server) ByEndpoint() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.byEndpoint)
}

// MaxInFlight is the most requests the server was answering at once: the
// client's effective concurrency.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFlight
}

// FaultCounts counts the faults served, by kind.
func (s *Server) FaultCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.faults)
}

// Reset forgets the counts (not the rate-limit window).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byEndpoint, s.faults, s.attempts, s.inARow, s.total = map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, 0
	s.maxFlight = s.inFlight
}

func (s *Server) enter() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight++
	s.maxFlight = max(s.maxFlight, s.inFlight)
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
}

// decision is what one attempt gets.
type decision struct {
	fault               string
	limit, used         int
	reset               time.Time
	primaryLimitReached bool
}

func (s *Server) decide(key, apiPath, endpoint string, b *budget) decision {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.byEndpoint[endpoint]++
	if b.reset.IsZero() || !now.Before(b.reset) {
		b.used, b.reset = 0, now.Add(s.opts.RateWindow).Truncate(time.Second)
	}
	d := decision{limit: b.limit, reset: b.reset}
	if b.used >= b.limit {
		d.used, d.primaryLimitReached, d.fault = b.used, true, FaultPrimary
		s.faults[FaultPrimary]++
		return d
	}
	b.used++
	d.used = b.used
	f := s.opts.Faults
	n := s.attempts[key]
	s.attempts[key]++
	switch {
	case f.Fail != nil && f.Fail.MatchString(apiPath):
		d.fault = FaultAlways
	case f.MaxConsecutive > 0 && s.inARow[key] >= f.MaxConsecutive:
	default:
		x := roll(f.Seed, key, n) * 100
		switch {
		case x < f.Percent502:
			d.fault = Fault502
		case x < f.Percent502+f.PercentReset:
			d.fault = FaultReset
		case x < f.Percent502+f.PercentReset+f.PercentSecondary:
			d.fault = FaultSecondary
		}
	}
	if d.fault != "" {
		s.faults[d.fault]++
		s.inARow[key]++
	} else {
		s.inARow[key] = 0
	}
	return d
}

// roll is a uniform number in [0, 1) from the seed, the request and the
// attempt.
func roll(seed uint64, key string, n int) float64 {
	h := fnv.New64a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seed)
	binary.BigEndian.PutUint64(b[8:], uint64(n))
	_, _ = h.Write(b[:])
	_, _ = h.Write([]byte(key))
	v := h.Sum64()
	// splitmix64 finaliser: FNV's low bits are weak.
	v ^= v >> 30
	v *= 0xbf58476d1ce4e5b9
	v ^= v >> 27
	v *= 0x94d049bb133111eb
	v ^= v >> 31
	return float64(v>>11) / (1 << 53)
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.enter()
	defer s.leave()
	if r.URL.Path == GraphQLPath {
		s.serveGraphQL(w, r)
		return
	}
	apiPath, inBase := cutBase(r.URL.Path)
	q := r.URL.Query()
	q.Del("page")
	key := r.Method + " " + apiPath + "?" + q.Encode()
	var a Answer
	var pages *ghfake.Server // ghfake over this one answer, when memoised
	switch {
	case !inBase:
		a = notFound(r.Method + " " + r.URL.Path)
	case s.opts.Memo:
		s.mu.Lock()
		m, ok := s.restMemo[key]
		s.mu.Unlock()
		if !ok {
			m.a = s.org.Answer(r.Method, apiPath, r.URL.Query())
			m.pages = ghfake.New(&ghfake.Fixture{Routes: []ghfake.Route{{Path: apiPath, Status: m.a.Status, Body: m.a.Body}}})
			s.mu.Lock()
			s.restMemo[key] = m
			s.mu.Unlock()
		}
		a, pages = m.a, m.pages
	default:
		a = s.org.Answer(r.Method, apiPath, r.URL.Query())
	}
	d := s.decide(key, apiPath, a.Endpoint, &s.rest)
	if !s.wait(r, apiPath) || s.fault(w, d, "core") {
		return
	}
	// Pagination, Link headers and error bodies: ghfake, over a fixture of
	// this one answer. Its own rate-limit headers give way to ours.
	if pages == nil {
		pages = ghfake.New(&ghfake.Fixture{Routes: []ghfake.Route{{Path: apiPath, Status: a.Status, Body: a.Body}}})
	}
	pages.ServeHTTP(rateWriter{ResponseWriter: w, set: func() { setRate(w.Header(), d, "core") }}, r)
}

// restAnswer is a REST answer kept by Options.Memo, with ghfake ready to
// page it.
type restAnswer struct {
	a     Answer
	pages *ghfake.Server
}

// serveGraphQL answers a request to the GraphQL endpoint: counted once as
// "POST /graphql" against the GraphQL budget, with one latency and the
// faults of the outer request, keyed by the body's sha256 (every query
// its own request); gqlfake answers it from the organisation's REST
// answers directly.
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	d := s.decide(graphQLKey(r.Method, body), graphQLAPIPath, r.Method+" "+graphQLAPIPath, &s.graphQL)
	if !s.wait(r, graphQLAPIPath) || s.fault(w, d, "graphql") {
		return
	}
	setRate(w.Header(), d, "graphql")
	if !s.opts.Memo {
		s.graphql.ServeHTTP(w, r)
		return
	}
	key := graphQLKey(r.Method, body)
	s.mu.Lock()
	a, ok := s.memo[key]
	s.mu.Unlock()
	if !ok {
		rec := httptest.NewRecorder()
		s.graphql.ServeHTTP(rec, r)
		a = memoAnswer{status: rec.Code, contentType: rec.Header().Get("Content-Type"), body: rec.Body.Bytes()}
		if a.status == http.StatusOK {
			s.mu.Lock()
			s.memo[key] = a
			s.mu.Unlock()
		}
	}
	w.Header().Set("Content-Type", a.contentType)
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// memoAnswer is a GraphQL answer kept by Options.Memo.
type memoAnswer struct {
	status      int
	contentType string
	body        []byte
}

// graphQLKey is a GraphQL request's fault key: its method, path and the
// sha256 of its body.
func graphQLKey(method string, body []byte) string {
	sum := sha256.Sum256(body)
	return method + " " + graphQLAPIPath + " " + hex.EncodeToString(sum[:])
}

// wait sleeps the latency (and a slow endpoint's delay); false if the
// client went away first.
func (s *Server) wait(r *http.Request, apiPath string) bool {
	delay := s.opts.Latency
	if f := s.opts.Faults; f.Slow != nil && f.Slow.MatchString(apiPath) {
		delay += f.SlowDelay
	}
	if delay <= 0 {
		return true
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// setRate sets the rate-limit headers of a budget (resource core or
// graphql).
func setRate(h http.Header, d decision, resource string) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.limit-d.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(d.reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(d.used))
	h.Set("X-RateLimit-Resource", resource)
}

// fault answers the attempt's fault, if it has one, and reports whether it
// did.
func (s *Server) fault(w http.ResponseWriter, d decision, resource string) bool {
	h := w.Header()
	switch d.fault {
	case "":
		return false
	case FaultReset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // no hijacking (HTTP/2): abort the stream
	case Fault502, FaultAlways:
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
	case FaultSecondary:
		setRate(h, d, resource)
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Retry-After", strconv.Itoa(s.opts.Faults.RetryAfter))
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID FAKE.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}`))
	case FaultPrimary:
		setRate(h, d, resource)
		h.Set("Content-Type", "application/json; charset=utf-8")
		if resource == "graphql" {
			// GitHub's GraphQL API answers a spent budget with 200 and
			// an error.
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID FAKE."}]}`))
			return true
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID FAKE.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit","status":"403"}`))
	}
	return true
}

// rateWriter replaces the rate-limit headers as the response starts.
type rateWriter struct {
	http.ResponseWriter
	set func()
}

func (w rateWriter) WriteHeader(code int) {
	w.set()
	w.ResponseWriter.WriteHeader(code)
}

func cutBase(p string) (string, bool) {
	const base = ghfake.DefaultBasePath
	if len(p) < len(base) || p[:len(base)] != base {
		return p, false
	}
	return "/" + p[len(base):], true
}
