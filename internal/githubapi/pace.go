package githubapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/changeproof/changeproof/internal/httpx"
)

// DefaultConcurrency is how many requests a client has in flight at once,
// across every collector and repository using it (config
// github.concurrency).
const DefaultConcurrency = 8

// MaxConcurrency bounds github.concurrency: GitHub's secondary limits
// forbid many more concurrent requests per token.
const MaxConcurrency = 64

// DefaultRateLimitMargin is how many requests of a resource's primary rate
// limit the pacer leaves unused, beyond those in flight.
const DefaultRateLimitMargin = 10

// pacer is the client's one view of GitHub's rate limits, shared by every
// request: it bounds the requests in flight, holds new ones while a
// secondary limit's Retry-After runs (for every worker, not only the one
// that was told), and holds them until the reset when a resource's
// X-RateLimit-Remaining would drop below the margin. A hold longer than
// maxWait is not taken: the request fails at once with httpx.ErrNotSent.
type pacer struct {
	policy  *policy
	next    http.RoundTripper
	base    string // the API root's path, to name resources
	graphQL string // the GraphQL endpoint's path (GraphQLPath beside base)
	sem     chan struct{}
	margin  int
	maxWait time.Duration
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	stats   *Stats
	log     *slog.Logger

	mu       sync.Mutex
	limits   map[string]*rateWindow
	inFlight map[string]int
	// pauseUntil holds every request (a secondary limit's Retry-After).
	pauseUntil time.Time
	// sentSinceHold counts the requests admitted without a hold since the
	// last hold; holdsInARow the holds with fewer than steadyRequests
	// between them, and lastHold the end of the latest one counted (the
	// workers held together count once).
	sentSinceHold int
	holdsInARow   int
	lastHold      time.Time
}

// A server that keeps the limit exhausted — every answer saying nothing is
// left, with a reset just within MaxRateLimitWait — would hold a run for
// ever, one wait at a time. After maxHoldsInARow holds with fewer than
// steadyRequests requests sent between them, requests are refused instead
// (RateLimitExhaustedError), so the collection ends, recorded as incomplete.
// A large collection that waits for each hourly reset sends thousands of
// requests between its holds.
const (
	steadyRequests = 100
	maxHoldsInARow = 4
)

// rateWindow is the latest word on one resource's primary limit.
type rateWindow struct {
	remaining int
	reset     time.Time
}

// RateLimitExhaustedError is the error (wrapping httpx.ErrNotSent) of a
// request the client did not send because the rate limit it needs resets
// later than Options.MaxRateLimitWait.
type RateLimitExhaustedError struct {
	Resource string
	Reset    time.Time
	Wait     time.Duration
	MaxWait  time.Duration
	// Secondary: the wait is a secondary limit's Retry-After.
	Secondary bool
	// Holds, when set, is how many holds came one after another with
	// hardly a request between them: the limit stays exhausted.
	Holds int
}

func (e *RateLimitExhaustedError) Error() string {
	what := fmt.Sprintf("the %s rate limit is exhausted until %s", e.Resource, e.Reset.UTC().Format(time.RFC3339))
	if e.Secondary {
		what = fmt.Sprintf("a secondary rate limit holds requests until %s", e.Reset.UTC().Format(time.RFC3339))
	}
	if e.Holds > 0 {
		return fmt.Sprintf("%s: %s again after %d holds in a row with fewer than %d requests between them: the API keeps the limit exhausted", httpx.ErrNotSent, what, e.Holds, steadyRequests)
	}
	return fmt.Sprintf("%s: %s, a wait of %v, longer than the longest allowed (%v)", httpx.ErrNotSent, what, e.Wait.Round(time.Second), e.MaxWait)
}

func (e *RateLimitExhaustedError) Unwrap() error { return httpx.ErrNotSent }

// resourceOf names the rate-limit resource a request draws on, as GitHub's
// X-RateLimit-Resource does.
func (p *pacer) resourceOf(r *http.Request) string {
	path := strings.TrimPrefix(r.URL.Path, p.base)
	switch {
	case strings.HasPrefix(path, "search/code"):
		return "code_search"
	case strings.HasPrefix(path, "search/"):
		return "search"
	case r.Method == http.MethodPost && (path == "graphql" || r.URL.Path == p.graphQL):
		return "graphql"
	}
	return "core"
}

func (p *pacer) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.sem }()
	res := p.resourceOf(r)
	if err := p.admit(ctx, res); err != nil {
		return nil, err
	}
	resp, err := p.next.RoundTrip(r)
	p.mu.Lock()
	p.inFlight[res]--
	p.mu.Unlock()
	if err == nil {
		p.observe(res, resp)
		if resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
			// go-github remembers a success's X-RateLimit-Remaining: 0 and
			// then fails every request until the reset without sending
			// it; the pacer waits instead. go-github skips that memory for
			// answers marked as coming from a cache (gregjones/httpcache's
			// header), so successes are marked: the pacer is the one
			// authority on the primary limit. Errors are not marked.
			resp.Header.Set("X-From-Cache", "1")
		}
	}
	return resp, err
}

// admit waits until a request of resource res may be sent, and counts it
// in flight.
func (p *pacer) admit(ctx context.Context, res string) error {
	for {
		p.mu.Lock()
		w := p.limits[res]
		low := w != nil && w.remaining-p.inFlight[res] <= p.margin
		if p.pauseUntil.IsZero() && !low {
			// Nothing may hold the request: the clock is not read.
			p.inFlight[res]++
			p.admitted()
			p.mu.Unlock()
			return nil
		}
		now := p.now()
		var until, reset time.Time
		secondary := false
		switch {
		case now.Before(p.pauseUntil):
			until, reset, secondary = p.pauseUntil, p.pauseUntil, true
		case low && now.Before(w.reset):
			// One extra second: the reset is rounded down to a second.
			until, reset = w.reset.Add(time.Second), w.reset
		}
		if !now.Before(p.pauseUntil) {
			p.pauseUntil = time.Time{}
		}
		if low && !now.Before(w.reset) {
			// The window has reset: what it said no longer holds.
			delete(p.limits, res)
		}
		if until.IsZero() {
			p.inFlight[res]++
			p.admitted()
			p.mu.Unlock()
			return nil
		}
		if !until.Equal(p.lastHold) {
			p.lastHold = until
			if p.sentSinceHold >= steadyRequests {
				p.holdsInARow = 0
			}
			p.holdsInARow++
			p.sentSinceHold = 0
		}
		inARow := p.holdsInARow
		p.mu.Unlock()
		wait := until.Sub(now)
		if inARow > maxHoldsInARow {
			err := &RateLimitExhaustedError{Resource: res, Reset: reset, Wait: wait, MaxWait: p.maxWait, Secondary: secondary, Holds: inARow - 1}
			p.log.Warn("GitHub rate limit: not sending", "err", err)
			return err
		}
		if wait > p.maxWait {
			err := &RateLimitExhaustedError{Resource: res, Reset: reset, Wait: wait, MaxWait: p.maxWait, Secondary: secondary}
			p.log.Warn("GitHub rate limit: not sending", "err", err)
			return err
		}
		p.log.Info("GitHub rate limit: holding requests", "resource", res, "wait", wait, "secondary", secondary)
		p.stats.HeldForRateLimit(now, wait)
		if err := p.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// admitted counts a request sent without a hold; p.mu is held.
func (p *pacer) admitted() {
	if p.sentSinceHold < steadyRequests {
		p.sentSinceHold++
	}
}

// observe reads a response's rate-limit headers into the shared view.
func (p *pacer) observe(res string, resp *http.Response) {
	h := resp.Header
	if r := h.Get("X-RateLimit-Resource"); r != "" {
		res = r
	}
	remaining, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	resetUnix, err2 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err1 == nil && err2 == nil && remaining >= 0 {
		reset := time.Unix(resetUnix, 0)
		w := p.limits[res]
		switch {
		case w == nil || reset.After(w.reset):
			p.limits[res] = &rateWindow{remaining: remaining, reset: reset}
		case reset.Equal(w.reset):
			// Concurrent answers arrive out of order: the lowest count
			// is the latest.
			w.remaining = min(w.remaining, remaining)
		}
	}
	// A secondary limit holds every worker, not just the one told.
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests {
		if wait, limited := p.policy.rateLimitWait(resp); limited && wait > 0 && h.Get("X-RateLimit-Remaining") != "0" {
			if until := p.now().Add(wait); until.After(p.pauseUntil) {
				p.pauseUntil = until
			}
		}
	}
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
