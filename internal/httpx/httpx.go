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
	"io"
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
	requests    atomic.Int64
	retries     atomic.Int64
	waitNanos   atomic.Int64
	notModified atomic.Int64
	mu          sync.Mutex
	byEndpoint  map[string]int64
	// held is the union of the intervals during which requests were held
	// for a rate limit; heldUntil is the end of the latest one.
	held      time.Duration
	heldUntil time.Time
}

// Requests is the number of HTTP requests sent, retries included.
func (s *Stats) Requests() int64 { return s.requests.Load() }

// Retries is the number of requests that were retries.
func (s *Stats) Retries() int64 { return s.retries.Load() }

// Waited is the total time spent waiting before retries.
func (s *Stats) Waited() time.Duration { return time.Duration(s.waitNanos.Load()) }

// NotModified is the number of 304 answers to conditional requests, served
// from a cache.
func (s *Stats) NotModified() int64 { return s.notModified.Load() }

// RateLimitWait is the wall-clock time during which at least one request
// was held for a rate limit (a retry waiting for X-RateLimit-Reset or
// Retry-After, or a request paced until the limit resets): overlapping
// waits of concurrent requests count once.
func (s *Stats) RateLimitWait() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

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

// Snapshot is what Stats counted up to a moment.
type Snapshot struct {
	Requests, Retries, NotModified int64
	RateLimitWait                  time.Duration
}

// Snapshot returns the counts so far; the difference of two snapshots is
// what was sent between them.
func (s *Stats) Snapshot() Snapshot {
	return Snapshot{Requests: s.Requests(), Retries: s.Retries(), NotModified: s.NotModified(), RateLimitWait: s.RateLimitWait()}
}

// Sub is what a later snapshot counted since an earlier one.
func (s Snapshot) Sub(earlier Snapshot) Snapshot {
	return Snapshot{
		Requests:      s.Requests - earlier.Requests,
		Retries:       s.Retries - earlier.Retries,
		NotModified:   s.NotModified - earlier.NotModified,
		RateLimitWait: s.RateLimitWait - earlier.RateLimitWait,
	}
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

// CountNotModified counts one 304 served from a cache.
func (s *Stats) CountNotModified() { s.notModified.Add(1) }

// HeldForRateLimit records that requests are held for a rate limit from
// start for d. Intervals overlapping earlier ones add only what they
// extend, so concurrent waits for one limit count once.
func (s *Stats) HeldForRateLimit(start time.Time, d time.Duration) {
	if d <= 0 {
		return
	}
	end := start.Add(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !end.After(s.heldUntil):
	case start.Before(s.heldUntil):
		s.held += end.Sub(s.heldUntil)
		s.heldUntil = end
	default:
		s.held += d
		s.heldUntil = end
	}
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
	// Now is the clock of the rate-limit waits Stats records (default
	// time.Now).
	Now func() time.Time
}

// ErrNotSent is returned (wrapped) by a transport that declined to send a
// request, e.g. because the rate limit it would need resets later than the
// longest wait allowed. It is not retried.
var ErrNotSent = errors.New("not sent")

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
		if errors.Is(err, ErrCrossOrigin) || errors.Is(err, ErrNotSent) {
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
		now := time.Now
		if p.Now != nil {
			now = p.Now
		}
		p.Stats.HeldForRateLimit(now(), wait)
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
	// Gate, when set, wraps the counting transport: every attempt, retries
	// included, passes through it (pacing, a concurrency bound), and a
	// request it declines to send is not counted.
	Gate func(http.RoundTripper) http.RoundTripper
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
	var attempt http.RoundTripper = &countingTransport{next: o.Transport, stats: o.Retry.Stats, trim: o.CountFrom}
	timeout := o.RequestTimeout
	if o.Gate != nil {
		// The timeout bounds the attempt, not the gate's wait before it.
		attempt, timeout = o.Gate(&timeoutTransport{next: attempt, d: o.RequestTimeout}), 0
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Transport:     attempt,
		Timeout:       timeout,
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

// timeoutTransport bounds one attempt, from sending it to closing its body,
// as http.Client.Timeout does.
type timeoutTransport struct {
	next http.RoundTripper
	d    time.Duration
}

func (t *timeoutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeoutCause(r.Context(), t.d, fmt.Errorf("no complete answer within %v", t.d))
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
