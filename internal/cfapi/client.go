// Package cfapi is the Cloudflare API client collectors share: cloudflare-go
// (v0.119) over a retrying, counting, recording HTTP transport.
//
// Every read goes through cloudflare-go's Raw method rather than its typed
// methods (ListPagesDeployments and the like). Evidence keeps what Cloudflare
// said byte for byte, and only Raw hands back the untouched "result" JSON
// (with "result_info" for listings); the typed methods decode into structs
// and drop the fields they do not know. Raw also covers the endpoints
// cloudflare-go v0.119 lacks (Workers deployments, versions and builds).
//
// Retries: transport errors, 5xx and 429 are retried with exponential backoff
// (bounded by Options.RetryMax and RetryWaitMax); a 429 with Retry-After waits
// that long, unless longer than MaxRateLimitWait, in which case the request
// fails rather than hanging the collection. The retries live in the
// transport (go-retryablehttp, as for GitHub) and cloudflare-go's own loop is
// off (UsingRetryPolicy(0, 0, 0)): that loop counts waits in whole seconds,
// ignores Retry-After, and after its last attempt returns an error that has
// lost the final status and Cloudflare's error codes. cloudflare-go's request
// rate limiter stays on (Options.RateLimit, default 4 requests per second,
// Cloudflare's global limit of 1200 per 5 minutes).
//
// The token is sent only as the Authorization header of requests to the
// configured API origin (redirects elsewhere are refused); it never appears
// in errors, logs or recorded calls.
package cfapi

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cloudflare "github.com/cloudflare/cloudflare-go"
	"github.com/hashicorp/go-retryablehttp"

	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/secret"
)

// DefaultBaseURL is Cloudflare's API root.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// TokenEnv is the environment variable the token is read from.
const TokenEnv = "CLOUDFLARE_API_TOKEN"

// DefaultRateLimit is the request rate the client keeps to: Cloudflare's
// global API limit of 1200 requests per 5 minutes per user.
const DefaultRateLimit = 4.0

// ErrNoToken is returned for a request made without a token: Cloudflare has
// no anonymous API.
var ErrNoToken = errors.New("no Cloudflare API token: set " + TokenEnv)

// Options configure a Client.
type Options struct {
	// BaseURL is the API root (default DefaultBaseURL), or a local fake.
	BaseURL string
	// Token is the API token (an account or user token with read
	// permissions). Empty builds a client whose requests fail with
	// ErrNoToken, so a collection that needs Cloudflare says so clearly.
	Token secret.Secret
	// HTTPClient supplies the underlying transport (its Transport, default
	// http.DefaultTransport) and, if set, its Timeout bounds one attempt
	// instead of RequestTimeout. Retries, redirects and counting are the
	// Client's own.
	HTTPClient *http.Client
	// Logger receives debug lines for requests and retries.
	Logger *slog.Logger
	// Now is the clock used to turn a Retry-After date into a wait.
	Now func() time.Time
	// RetryMax is how many times a request is retried (default 4; negative:
	// never).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff (default
	// 500ms and 30s).
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRateLimitWait is the longest Retry-After wait taken (default 5m).
	MaxRateLimitWait time.Duration
	// RequestTimeout bounds one HTTP attempt (default 60s).
	RequestTimeout time.Duration
	// RateLimit is the most requests per second sent (default
	// DefaultRateLimit).
	RateLimit float64
	// MaxPages bounds a List (default 1000 pages).
	MaxPages int
}

// Client reads the Cloudflare API. Safe for concurrent use.
type Client struct {
	api      *cloudflare.API // nil without a token
	base     *url.URL
	log      *slog.Logger
	maxPages int
	// Stats counts the requests sent.
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

// ByEndpoint returns request counts keyed by "METHOD /path" (query removed,
// path relative to the API root).
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

// ParseBaseURL validates an API root: https, or plain http only for loopback
// hosts (a local fake), no credentials. The result has no trailing slash, as
// cloudflare-go appends paths starting with one.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := githubapi.ParseBaseURL(s)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// New builds a client. It does not touch the network.
func New(opts Options) (*Client, error) {
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := ParseBaseURL(base)
	if err != nil {
		return nil, fmt.Errorf("--cloudflare-api-url: %w", err)
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
	if opts.RetryMax < 0 {
		opts.RetryMax = 0
	}
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = 500 * time.Millisecond
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = 30 * time.Second
	}
	if opts.MaxRateLimitWait == 0 {
		opts.MaxRateLimitWait = 5 * time.Minute
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 1000
	}
	transport := http.DefaultTransport
	if opts.HTTPClient != nil {
		if opts.HTTPClient.Transport != nil {
			transport = opts.HTTPClient.Transport
		}
		if opts.HTTPClient.Timeout > 0 {
			opts.RequestTimeout = opts.HTTPClient.Timeout
		}
	}

	stats := &Stats{}
	p := &retryPolicy{opts: opts, stats: stats}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Transport:     &countingTransport{next: transport, stats: stats, base: u.Path},
		Timeout:       opts.RequestTimeout,
		CheckRedirect: sameOrigin(u),
	}
	rc.Logger = opts.Logger
	rc.RetryMax = opts.RetryMax
	rc.RetryWaitMin = opts.RetryWaitMin
	rc.RetryWaitMax = opts.RetryWaitMax
	rc.CheckRetry = p.checkRetry
	rc.Backoff = p.backoff
	// Hand the last response back, so its status and error envelope are
	// recorded.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	hc := &http.Client{
		Transport:     &recordingTransport{next: &retryablehttp.RoundTripper{Client: rc}},
		CheckRedirect: sameOrigin(u),
	}

	c := &Client{base: u, log: opts.Logger, maxPages: opts.MaxPages, Stats: stats}
	if opts.Token.IsZero() {
		return c, nil
	}
	api, err := cloudflare.NewWithAPIToken(opts.Token.Reveal(),
		cloudflare.BaseURL(u.String()),
		cloudflare.HTTPClient(hc),
		cloudflare.UsingRetryPolicy(0, 0, 0),
		cloudflare.UsingRateLimit(opts.RateLimit),
		cloudflare.UserAgent("changeproof"),
		cloudflare.UsingLogger(log.New(discard{}, "", 0)),
	)
	if err != nil {
		// cloudflare-go's option errors never hold the token; say nothing
		// more than that the client could not be built.
		return nil, fmt.Errorf("building the Cloudflare client: %w", err)
	}
	c.api = api
	return c, nil
}

// BaseURL is the API root, e.g. https://api.cloudflare.com/client/v4.
func (c *Client) BaseURL() string { return c.base.String() }

// HasToken reports whether the client has a token to send.
func (c *Client) HasToken() bool { return c != nil && c.api != nil }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// countingTransport counts every attempt, retries included.
type countingTransport struct {
	next  http.RoundTripper
	stats *Stats
	base  string
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	path := strings.TrimPrefix(r.URL.Path, t.base)
	t.stats.count(r.Method, path)
	return t.next.RoundTrip(r)
}

// retryPolicy decides which responses are retried and how long to wait.
type retryPolicy struct {
	opts  Options
	stats *Stats
}

// retryAfter returns how long a 429 asks to wait, and whether it says.
func (p *retryPolicy) retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	ra := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if ra == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(ra); err == nil {
		return max(t.Sub(p.opts.Now()), 0), true
	}
	return 0, false
}

func (p *retryPolicy) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		if errors.Is(err, errCrossOrigin) {
			return false, err
		}
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if wait, ok := p.retryAfter(resp); ok && wait > p.opts.MaxRateLimitWait {
			p.opts.Logger.Warn("Cloudflare rate limit: asked to wait longer than allowed; giving up", "wait", wait, "max", p.opts.MaxRateLimitWait)
			return false, nil
		}
		return true, nil
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		return true, nil
	}
	return false, nil
}

func (p *retryPolicy) backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	wait, limited := p.retryAfter(resp)
	if !limited {
		wait = time.Duration(math.Min(float64(maxWait), math.Pow(2, float64(attempt))*float64(minWait)))
	}
	p.stats.retries.Add(1)
	p.stats.waitNanos.Add(int64(wait))
	if limited {
		p.opts.Logger.Info("Cloudflare rate limit: waiting", "wait", wait)
	}
	return wait
}

var errCrossOrigin = errors.New("refusing a redirect to another origin")

// sameOrigin refuses redirects away from the API's scheme, host and port, so
// the token is never sent in clear or to another service.
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
