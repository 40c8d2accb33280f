// Package githubapi builds the GitHub REST client every collector shares:
// go-github over a retrying, counting HTTP transport.
//
// Retries: transport errors, 5xx and 429 are retried with exponential backoff;
// rate limits (403/429 with X-RateLimit-Remaining: 0, or a Retry-After header)
// wait for X-RateLimit-Reset or Retry-After. A wait longer than
// MaxRateLimitWait is not taken: the request fails with the rate-limit error,
// so the collection is recorded as incomplete rather than hanging.
package githubapi

import (
	"bytes"
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

	"github.com/google/go-github/v62/github"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/changeproof/changeproof/internal/secret"
)

// DefaultBaseURL is github.com's REST API.
const DefaultBaseURL = "https://api.github.com/"

// TokenEnv is the environment variable the token is read from.
const TokenEnv = "GITHUB_TOKEN"

// Options configure a Client.
type Options struct {
	// BaseURL is the REST API root: https://api.github.com/ (default), or
	// https://HOST/api/v3/ for GitHub Enterprise Server, or a local fake.
	BaseURL string
	// Token authenticates requests; empty means anonymous.
	Token secret.Secret
	// Logger receives debug lines for requests and retries.
	Logger *slog.Logger
	// Now is the clock used to turn X-RateLimit-Reset into a wait.
	Now func() time.Time
	// RetryMax is how many times a request is retried (default 4).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff (default
	// 500ms and 30s).
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRateLimitWait is the longest rate-limit wait taken (default 15m).
	MaxRateLimitWait time.Duration
	// RequestTimeout bounds one HTTP attempt, so a stalled server cannot hang
	// a collection (default 60s).
	RequestTimeout time.Duration
	// Transport is the underlying transport (default http.DefaultTransport).
	Transport http.RoundTripper
}

// Client is a go-github client with request statistics.
type Client struct {
	*github.Client
	Stats *Stats
}

// Stats counts what the client sent. Safe for concurrent use.
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

// ByEndpoint returns request counts keyed by "METHOD /path" (query removed).
func (s *Stats) ByEndpoint() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.byEndpoint))
	for k, v := range s.byEndpoint {
		out[k] = v
	}
	return out
}

func (s *Stats) count(r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	if s.byEndpoint == nil {
		s.byEndpoint = map[string]int64{}
	}
	s.byEndpoint[r.Method+" "+r.URL.Path]++
	s.mu.Unlock()
}

type countingTransport struct {
	next  http.RoundTripper
	stats *Stats
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.stats.count(r)
	return t.next.RoundTrip(r)
}

// ParseBaseURL validates an API root URL. Plain http is accepted only for
// loopback hosts, so a token is never sent in clear over a network.
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

// New builds a client.
func New(opts Options) (*Client, error) {
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := ParseBaseURL(base)
	if err != nil {
		return nil, fmt.Errorf("--github-api-url: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = 4
	}
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = 500 * time.Millisecond
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = 30 * time.Second
	}
	if opts.MaxRateLimitWait == 0 {
		opts.MaxRateLimitWait = 15 * time.Minute
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	stats := &Stats{}
	p := &policy{opts: opts, stats: stats}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Transport:     &countingTransport{next: opts.Transport, stats: stats},
		Timeout:       opts.RequestTimeout,
		CheckRedirect: sameOrigin(u),
	}
	rc.Logger = opts.Logger
	rc.RetryMax = opts.RetryMax
	rc.RetryWaitMin = opts.RetryWaitMin
	rc.RetryWaitMax = opts.RetryWaitMax
	rc.CheckRetry = p.checkRetry
	rc.Backoff = p.backoff
	// Hand the last response to go-github so its error names the status and
	// GitHub's message.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	std := rc.StandardClient()
	std.CheckRedirect = sameOrigin(u)
	gh := github.NewClient(std)
	if !opts.Token.IsZero() {
		gh = gh.WithAuthToken(opts.Token.Reveal())
	}
	gh.BaseURL = u
	gh.UserAgent = "changeproof"
	return &Client{Client: gh, Stats: stats}, nil
}

type policy struct {
	opts  Options
	stats *Stats
}

// rateLimitWait returns how long a rate-limited response asks us to wait, and
// whether the response is a rate limit at all.
func (p *policy) rateLimitWait(resp *http.Response) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests) {
		return 0, false
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
		if t, err := http.ParseTime(ra); err == nil {
			return max(t.Sub(p.opts.Now()), 0), true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			// One extra second: the reset is rounded down to a second.
			return max(time.Unix(reset, 0).Sub(p.opts.Now())+time.Second, 0), true
		}
		return time.Minute, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return 0, true
	}
	if isSecondaryLimit(resp) {
		// GitHub: without retry-after, wait at least one minute.
		return time.Minute, true
	}
	return 0, false
}

// isSecondaryLimit reports whether a 403 is a secondary rate limit, by its
// documented message or documentation_url. The body is read (bounded) and
// put back for the caller.
func isSecondaryLimit(resp *http.Response) bool {
	if resp.StatusCode != http.StatusForbidden || resp.Body == nil {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	rest := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), rest), rest}
	if err != nil {
		return false
	}
	b := strings.ToLower(string(body))
	return strings.Contains(b, "secondary rate limit") || strings.Contains(b, "secondary-rate-limits") || strings.Contains(b, "abuse-rate-limits")
}

func (p *policy) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if errors.Is(err, errCrossOrigin) {
			return false, err
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if wait, limited := p.rateLimitWait(resp); limited {
		if wait > p.opts.MaxRateLimitWait {
			p.opts.Logger.Warn("rate limited for longer than allowed; giving up", "wait", wait, "max", p.opts.MaxRateLimitWait)
			return false, nil
		}
		return true, nil
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		return true, nil
	}
	return false, nil
}

func (p *policy) backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	wait, limited := p.rateLimitWait(resp)
	if !limited || wait == 0 {
		wait = time.Duration(math.Min(float64(maxWait), math.Pow(2, float64(attempt))*float64(minWait)))
	}
	p.stats.retries.Add(1)
	p.stats.waitNanos.Add(int64(wait))
	if limited {
		p.opts.Logger.Info("GitHub rate limit: waiting", "wait", wait)
	}
	return wait
}

// HTTPStatus returns the HTTP status of a go-github error, or 0.
func HTTPStatus(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) && rl.Response != nil {
		return rl.Response.StatusCode
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) && ab.Response != nil {
		return ab.Response.StatusCode
	}
	return 0
}

// Message returns GitHub's error message of a go-github error, or "".
func Message(err error) string {
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		return er.Message
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return rl.Message
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		return ab.Message
	}
	return ""
}

var errCrossOrigin = errors.New("refusing a redirect to another origin")

// sameOrigin refuses redirects away from the API's scheme, host and port, so
// the token (which Go's client keeps on same-host redirects, whatever the
// scheme) is never sent in clear or to another service.
func sameOrigin(base *url.URL) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host {
			return fmt.Errorf("%w: from %s to %s://%s", errCrossOrigin, base.Host, req.URL.Scheme, req.URL.Host)
		}
		return nil
	}
}
