// Package githubapi builds the GitHub REST client every collector shares:
// go-github over a retrying, counting HTTP transport, authenticated with a
// token or as a GitHub App installation (see App).
//
// Retries: transport errors, 5xx and 429 are retried with exponential backoff;
// rate limits (403/429 with X-RateLimit-Remaining: 0, or a Retry-After header)
// wait for X-RateLimit-Reset or Retry-After. A wait longer than
// MaxRateLimitWait is not taken: the request fails with the rate-limit error,
// so the collection is recorded as incomplete rather than hanging.
//
// Pacing (pace.go): every request of a client shares one bound on requests
// in flight (Concurrency) and one view of the rate limits, read from every
// response's X-RateLimit-* headers per resource; requests are held until
// the reset when the remaining budget nears zero, and every request is held
// while a secondary limit's Retry-After runs.
//
// Conditional requests (cache.go): with CacheDir set, the answers of
// settings read every run are kept on disk and asked for again with
// If-None-Match; a 304 is served from the cache.
package githubapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/changeproof/changeproof/internal/httpx"
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
	// Token authenticates requests; empty means anonymous (or App).
	Token secret.Secret
	// App, when set, authenticates every request as a GitHub App
	// installation instead; Token must then be empty. The installation
	// token is obtained from POST {BaseURL}app/installations/{id}/access_tokens
	// (so GitHub Enterprise Server works too) through the same retrying,
	// counting transport as every other request, and renewed before it
	// expires.
	App *App
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
	// Concurrency bounds the requests in flight at once, across every
	// caller of the client (default DefaultConcurrency); collectors use it
	// as their number of workers too.
	Concurrency int
	// RateLimitMargin is how many requests of a rate limit are left unused
	// beyond those in flight before requests are held until the reset
	// (default DefaultRateLimitMargin; negative: none).
	RateLimitMargin int
	// Sleep waits for a rate limit's hold (default: a timer; tests inject a
	// clock-advancing one).
	Sleep func(context.Context, time.Duration) error
	// CacheDir, when set, keeps answers for conditional requests there
	// (created 0700; entries 0600). Empty: no cache.
	CacheDir string
	// CacheMaxAge is how long an unused entry is kept (default
	// DefaultCacheMaxAge).
	CacheMaxAge time.Duration
	// NoGraphQL keeps collectors on the REST API. By default those that
	// can read what they need in fewer requests over GraphQL (merge
	// activity) do, and fall back to REST where GraphQL fails.
	NoGraphQL bool
}

// Client is a go-github client with request statistics.
type Client struct {
	*github.Client
	Stats       *Stats
	concurrency int
	noGraphQL   bool
}

// GraphQL reports whether collectors may use the GraphQL API.
func (c *Client) GraphQL() bool { return c != nil && !c.noGraphQL }

// Concurrency is how many requests the client sends at once, the number of
// workers a collector should use.
func (c *Client) Concurrency() int {
	if c == nil || c.concurrency <= 0 {
		return DefaultConcurrency
	}
	return c.concurrency
}

// Stats counts what the client sent (keyed by full path). Safe for
// concurrent use.
type Stats = httpx.Stats

// ParseBaseURL validates an API root URL. Plain http is accepted only for
// loopback hosts, so a token is never sent in clear over a network.
func ParseBaseURL(s string) (*url.URL, error) { return httpx.ParseBaseURL(s) }

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
	if opts.App != nil && !opts.Token.IsZero() {
		return nil, errors.New("GitHub: both a token and a GitHub App are configured; use one")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxRateLimitWait == 0 {
		opts.MaxRateLimitWait = 15 * time.Minute
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Concurrency < 1 || opts.Concurrency > MaxConcurrency {
		return nil, fmt.Errorf("GitHub concurrency %d: want 1 to %d", opts.Concurrency, MaxConcurrency)
	}
	if opts.RateLimitMargin == 0 {
		opts.RateLimitMargin = DefaultRateLimitMargin
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	if opts.CacheMaxAge == 0 {
		opts.CacheMaxAge = DefaultCacheMaxAge
	}
	if opts.CacheDir != "" {
		// File times are the file system's: the cache uses the real clock.
		if err := openCache(opts.CacheDir, opts.CacheMaxAge, time.Now, opts.Logger); err != nil {
			return nil, err
		}
	}
	stats := &Stats{}
	p := &policy{opts: opts, stats: stats}
	pace := &pacer{
		policy:   p,
		base:     u.Path,
		graphQL:  u.ResolveReference(&url.URL{Path: GraphQLPath(u)}).Path,
		sem:      make(chan struct{}, opts.Concurrency),
		margin:   max(opts.RateLimitMargin, 0),
		maxWait:  opts.MaxRateLimitWait,
		now:      opts.Now,
		sleep:    opts.Sleep,
		stats:    stats,
		log:      opts.Logger,
		limits:   map[string]*rateWindow{},
		inFlight: map[string]int{},
	}
	// The last response goes to go-github, so its error names the status and
	// GitHub's message.
	std := httpx.NewClient(httpx.Options{
		Base:           u,
		Transport:      opts.Transport,
		RequestTimeout: opts.RequestTimeout,
		RetryMax:       opts.RetryMax,
		RetryWaitMin:   opts.RetryWaitMin,
		RetryWaitMax:   opts.RetryWaitMax,
		Retry:          p.retry(),
		Gate: func(next http.RoundTripper) http.RoundTripper {
			pace.next = next
			return pace
		},
	})
	if opts.CacheDir != "" {
		std.Transport = &diskCache{dir: opts.CacheDir, base: u.Path, next: std.Transport, stats: stats, log: opts.Logger, now: time.Now}
	}
	if opts.App != nil {
		// The installation token goes on outside the retrying transport:
		// each retry carries it, and the exchange is retried like any call.
		at, err := newAppTransport(*opts.App, u, std.Transport)
		if err != nil {
			return nil, err
		}
		std.Transport = at
	}
	gh := github.NewClient(std)
	if !opts.Token.IsZero() {
		gh = gh.WithAuthToken(opts.Token.Reveal())
	}
	gh.BaseURL = u
	gh.UserAgent = "changeproof"
	return &Client{Client: gh, Stats: stats, concurrency: opts.Concurrency, noGraphQL: opts.NoGraphQL}, nil
}

// policy is GitHub's reading of rate limits, over the shared retry policy.
type policy struct {
	opts  Options
	stats *Stats
}

func (p *policy) retry() *httpx.Retry {
	return &httpx.Retry{
		Service:          "GitHub",
		RateLimit:        p.rateLimit,
		MaxRateLimitWait: p.opts.MaxRateLimitWait,
		Logger:           p.opts.Logger,
		Stats:            p.stats,
		Now:              p.opts.Now,
	}
}

func (p *policy) rateLimit(resp *http.Response) httpx.RateLimit {
	wait, limited := p.rateLimitWait(resp)
	// A zero wait says nothing: back off exponentially.
	return httpx.RateLimit{Limited: limited, Wait: wait, Said: wait != 0}
}

// rateLimitWait returns how long a rate-limited response asks us to wait, and
// whether the response is a rate limit at all.
func (p *policy) rateLimitWait(resp *http.Response) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests) {
		return 0, false
	}
	if wait, ok := httpx.RetryAfter(resp.Header, p.opts.Now); ok {
		return wait, true
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
	return p.retry().CheckRetry(ctx, resp, err)
}

func (p *policy) backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	return p.retry().Backoff(minWait, maxWait, attempt, resp)
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

// Permissions a fine-grained token needs, as collectors name them in
// not_verifiable reasons.
const (
	PermPulls       = `"Pull requests: read"`
	PermContents    = `"Contents: read"`
	PermChecks      = `"Checks: read"`
	PermStatuses    = `"Commit statuses: read"`
	PermActions     = `"Actions: read"`
	PermMetadata    = `"Metadata: read"`
	PermDeployments = `"Deployments: read"`
)
