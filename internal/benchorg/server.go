package benchorg

import (
	"encoding/binary"
	"hash/fnv"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/changeproof/changeproof/internal/ghfake"
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
	// RateWindow is how long a budget lasts (default one hour), measured
	// on Now.
	RateWindow time.Duration
	// Now is the clock of the rate-limit window (default time.Now).
	Now func() time.Time
	// Faults are switched off by default.
	Faults Faults
}

// Faults are seeded failures. Whether attempt n of a request (method, path
// and query) fails is a function of Seed, the request and n alone, so a
// run with the same requests sees the same faults whatever the order of
// its concurrent requests.
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
// each request lazily. Safe for concurrent use.
type Server struct {
	org  *Org
	opts Options

	mu         sync.Mutex
	byEndpoint map[string]int
	faults     map[string]int // by fault kind
	attempts   map[string]int // by request
	inARow     map[string]int // consecutive faults by request
	used       int
	reset      time.Time
	total      int
	inFlight   int
	maxFlight  int
}

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
	return &Server{org: org, opts: opts, byEndpoint: map[string]int{}, faults: map[string]int{},
		attempts: map[string]int{}, inARow: map[string]int{}}
}

// URL is the API root of a server listening at root.
func (s *Server) URL(root string) string {
	return root + ghfake.DefaultBasePath
}

// Requests is the number of requests received.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ByEndpoint counts requests by endpoint template, e.g.
// "GET /repos/{owner}/{repo}/pulls/{number}/reviews", faulted attempts
// included.
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

func (s *Server) decide(key, apiPath, endpoint string) decision {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.byEndpoint[endpoint]++
	if s.reset.IsZero() || !now.Before(s.reset) {
		s.used, s.reset = 0, now.Add(s.opts.RateWindow).Truncate(time.Second)
	}
	d := decision{limit: s.opts.RateLimit, reset: s.reset}
	if s.used >= s.opts.RateLimit {
		d.used, d.primaryLimitReached, d.fault = s.used, true, FaultPrimary
		s.faults[FaultPrimary]++
		return d
	}
	s.used++
	d.used = s.used
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
	apiPath, inBase := cutBase(r.URL.Path)
	var a Answer
	if inBase {
		a = s.org.Answer(r.Method, apiPath, r.URL.Query())
	} else {
		a = notFound(r.Method + " " + r.URL.Path)
	}
	q := r.URL.Query()
	q.Del("page")
	key := r.Method + " " + apiPath + "?" + q.Encode()
	d := s.decide(key, apiPath, a.Endpoint)

	delay := s.opts.Latency
	if f := s.opts.Faults; f.Slow != nil && f.Slow.MatchString(apiPath) {
		delay += f.SlowDelay
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	h := w.Header()
	setRate := func() {
		h.Set("X-RateLimit-Limit", strconv.Itoa(d.limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(d.limit-d.used))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(d.reset.Unix(), 10))
		h.Set("X-RateLimit-Used", strconv.Itoa(d.used))
		h.Set("X-RateLimit-Resource", "core")
	}
	switch d.fault {
	case FaultReset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // no hijacking (HTTP/2): abort the stream
	case Fault502, FaultAlways:
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
		return
	case FaultSecondary:
		setRate()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Retry-After", strconv.Itoa(s.opts.Faults.RetryAfter))
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID FAKE.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}`))
		return
	case FaultPrimary:
		setRate()
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID FAKE.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit","status":"403"}`))
		return
	}
	// Pagination, Link headers and error bodies: ghfake, over a fixture of
	// this one answer. Its own rate-limit headers give way to ours.
	fx := &ghfake.Fixture{Routes: []ghfake.Route{{Path: apiPath, Status: a.Status, Body: a.Body}}}
	ghfake.New(fx).ServeHTTP(rateWriter{ResponseWriter: w, set: setRate}, r)
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
