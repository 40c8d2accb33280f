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
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	cloudflare "github.com/cloudflare/cloudflare-go"

	"github.com/changeproof/changeproof/internal/httpx"
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

// Stats counts what the client sent; ByEndpoint's paths are relative to the
// API root. Safe for concurrent use.
type Stats = httpx.Stats

// ParseBaseURL validates an API root: https, or plain http only for loopback
// hosts (a local fake), no credentials. The result has no trailing slash, as
// cloudflare-go appends paths starting with one.
func ParseBaseURL(s string) (*url.URL, error) {
	u, err := httpx.ParseBaseURL(s)
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
	if opts.MaxRateLimitWait == 0 {
		opts.MaxRateLimitWait = 5 * time.Minute
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 1000
	}
	var transport http.RoundTripper
	if opts.HTTPClient != nil {
		transport = opts.HTTPClient.Transport
		if opts.HTTPClient.Timeout > 0 {
			opts.RequestTimeout = opts.HTTPClient.Timeout
		}
	}

	stats := &Stats{}
	// The last response comes back after the last retry, so its status and
	// error envelope are recorded.
	hc := httpx.NewClient(httpx.Options{
		Base:           u,
		Transport:      transport,
		RequestTimeout: opts.RequestTimeout,
		RetryMax:       opts.RetryMax,
		RetryWaitMin:   opts.RetryWaitMin,
		RetryWaitMax:   opts.RetryWaitMax,
		Retry: &httpx.Retry{
			Service:          "Cloudflare",
			RateLimit:        rateLimit(opts.Now),
			MaxRateLimitWait: opts.MaxRateLimitWait,
			Logger:           opts.Logger,
			Stats:            stats,
		},
		CountFrom: u.Path,
	})
	hc.Transport = &recordingTransport{next: hc.Transport}

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

// rateLimit reads Cloudflare's rate limit: a 429, with the wait its
// Retry-After names, if any.
func rateLimit(now func() time.Time) httpx.RateLimitFunc {
	return func(resp *http.Response) httpx.RateLimit {
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			return httpx.RateLimit{}
		}
		wait, said := httpx.RetryAfter(resp.Header, now)
		return httpx.RateLimit{Limited: true, Wait: wait, Said: said}
	}
}
