// Package httpx holds the HTTP pieces the GitHub and Cloudflare clients
// share: API root parsing, a same-origin redirect check, request statistics
// and a retrying client (go-retryablehttp) whose policy honours rate limits.
//
// What a rate limit looks like is each service's own; the client asks the
// service's RateLimitFunc. A wait longer than Retry.MaxRateLimitWait is not
// taken: the request fails with the rate-limit response, so a collection is
// recorded as incomplete rather than hanging.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// ParseBaseURL validates an API root URL. Plain http is accepted only for
// loopback hosts, so a token is never sent in clear over a network. The
// result ends in "/" and has no query or fragment.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%q is not an http(s) URL", withoutUserInfo(s, u, err))
	}
	if u.User != nil {
		return nil, fmt.Errorf("API URL must not carry credentials")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%q: plain http is allowed only for loopback hosts; use https", u.Redacted())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// withoutUserInfo is s for an error message, without the credentials it may
// carry (a URL that does not parse is not shown if it may hold any).
func withoutUserInfo(s string, u *url.URL, parseErr error) string {
	if parseErr != nil {
		if strings.Contains(s, "@") {
			return "(URL not shown: it may carry credentials)"
		}
		return s
	}
	c := *u
	c.User = nil
	return c.String()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ErrCrossOrigin is returned (wrapped) for a redirect away from the API's
// origin.
var ErrCrossOrigin = errors.New("refusing a redirect to another origin")

// SameOrigin is an http.Client CheckRedirect that refuses redirects away
// from the API's scheme, host and port, so the token (which Go's client
// keeps on same-host redirects, whatever the scheme) is never sent in clear
// or to another service.
func SameOrigin(base *url.URL) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host {
			return fmt.Errorf("%w: from %s to %s://%s", ErrCrossOrigin, base.Host, req.URL.Scheme, req.URL.Host)
		}
		return nil
	}
}

// Stats counts what a client sent. Safe for concurrent use.
type Stats struct {
	requests   atomic.Int64
	retries    atomic.Int64
	waitNanos  atomic.Int64
	mu         sync.Mutex
	byEndpoint map[string]int64
}

// Requests is the number of HTTP requests sent, retries included.
func (s *Stats) Requests() int64 { return s.requests.Load() }

// Retries is the number of requests that were retries.
func (s *Stats) Retries() int64 { return s.retries.Load() }

// Waited is the total time spent waiting before retries.
func (s *Stats) Waited() time.Duration { return time.Duration(s.waitNanos.Load()) }

// ByEndpoint returns request counts keyed by "METHOD /path" (query removed;
// for a client built with Options.CountFrom, the path is relative to it).
func (s *Stats) ByEndpoint() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.byEndpoint))
	for k, v := range s.byEndpoint {
		out[k] = v
	}
	return out
}

func (s *Stats) count(method, path string) {
	s.requests.Add(1)
	s.mu.Lock()
	if s.byEndpoint == nil {
		s.byEndpoint = map[string]int64{}
	}
	s.byEndpoint[method+" "+path]++
	s.mu.Unlock()
}

func (s *Stats) waited(d time.Duration) {
	s.retries.Add(1)
	s.waitNanos.Add(int64(d))
}

// countingTransport counts every attempt, retries included.
type countingTransport struct {
	next  http.RoundTripper
	stats *Stats
	trim  string
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.stats.count(r.Method, strings.TrimPrefix(r.URL.Path, t.trim))
	return t.next.RoundTrip(r)
}

// RetryAfter returns the wait a Retry-After header asks for (seconds or an
// HTTP date, measured from now(), which is called only for a date), and
// whether it holds one.
func RetryAfter(h http.Header, now func() time.Time) (time.Duration, bool) {
	ra := strings.TrimSpace(h.Get("Retry-After"))
	if ra == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(ra); err == nil {
		return max(t.Sub(now()), 0), true
	}
	return 0, false
}

// RateLimit is what a response says about rate limiting.
type RateLimit struct {
	// Limited: the response is a rate limit, retried after a wait.
	Limited bool
	// Wait is how long the response asks to wait, when Said.
	Wait time.Duration
	// Said: the response names its wait; otherwise the retry backs off
	// exponentially.
	Said bool
}

// RateLimitFunc reads a response (nil when there was none) as a rate limit.
type RateLimitFunc func(*http.Response) RateLimit

// Retry is the retry policy: transport errors, 5xx (but 501) and rate
// limits are retried, with exponential backoff or the wait a rate limit
// names.
type Retry struct {
	// Service names the API in log lines ("GitHub").
	Service string
	// RateLimit reads rate limits; nil: none.
	RateLimit RateLimitFunc
	// MaxRateLimitWait is the longest rate-limit wait taken.
	MaxRateLimitWait time.Duration
	// Logger receives the rate-limit lines.
	Logger *slog.Logger
	// Stats counts retries and waits (Backoff needs it).
	Stats *Stats
}

func (p *Retry) rateLimit(resp *http.Response) RateLimit {
	if p.RateLimit == nil {
		return RateLimit{}
	}
	return p.RateLimit(resp)
}

// CheckRetry is a retryablehttp.CheckRetry.
func (p *Retry) CheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if errors.Is(err, ErrCrossOrigin) {
			return false, err
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if rl := p.rateLimit(resp); rl.Limited {
		if rl.Said && rl.Wait > p.MaxRateLimitWait {
			p.Logger.Warn(p.Service+" rate limit: asked to wait longer than allowed; giving up", "wait", rl.Wait, "max", p.MaxRateLimitWait)
			return false, nil
		}
		return true, nil
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		return true, nil
	}
	return false, nil
}

// Backoff is a retryablehttp.Backoff: the rate limit's wait, when it names
// one, or minWait doubled per attempt up to maxWait.
func (p *Retry) Backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	rl := p.rateLimit(resp)
	wait := rl.Wait
	if !rl.Limited || !rl.Said {
		wait = time.Duration(math.Min(float64(maxWait), math.Pow(2, float64(attempt))*float64(minWait)))
	}
	p.Stats.waited(wait)
	if rl.Limited {
		p.Logger.Info(p.Service+" rate limit: waiting", "wait", wait)
	}
	return wait
}

// Options configure NewClient. Zero values take the defaults named.
type Options struct {
	// Base is the API root; redirects away from its origin are refused.
	Base *url.URL
	// Transport is the underlying transport (default http.DefaultTransport).
	Transport http.RoundTripper
	// RequestTimeout bounds one HTTP attempt (default 60s).
	RequestTimeout time.Duration
	// RetryMax is how many times a request is retried (default 4; negative:
	// never).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff (default
	// 500ms and 30s).
	RetryWaitMin, RetryWaitMax time.Duration
	// Retry decides what is retried; its Stats also count the requests.
	Retry *Retry
	// CountFrom is a path prefix Stats.ByEndpoint leaves out.
	CountFrom string
}

// NewClient builds a retrying, counting HTTP client. After the last retry
// it hands back the last response (not an error), so the caller can report
// its status and body.
func NewClient(o Options) *http.Client {
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 60 * time.Second
	}
	if o.RetryMax == 0 {
		o.RetryMax = 4
	}
	if o.RetryMax < 0 {
		o.RetryMax = 0
	}
	if o.RetryWaitMin == 0 {
		o.RetryWaitMin = 500 * time.Millisecond
	}
	if o.RetryWaitMax == 0 {
		o.RetryWaitMax = 30 * time.Second
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Transport:     &countingTransport{next: o.Transport, stats: o.Retry.Stats, trim: o.CountFrom},
		Timeout:       o.RequestTimeout,
		CheckRedirect: SameOrigin(o.Base),
	}
	rc.Logger = o.Retry.Logger
	rc.RetryMax = o.RetryMax
	rc.RetryWaitMin = o.RetryWaitMin
	rc.RetryWaitMax = o.RetryWaitMax
	rc.CheckRetry = o.Retry.CheckRetry
	rc.Backoff = o.Retry.Backoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &http.Client{
		Transport:     &retryablehttp.RoundTripper{Client: rc},
		CheckRedirect: SameOrigin(o.Base),
	}
}
