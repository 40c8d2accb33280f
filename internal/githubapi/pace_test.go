package githubapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/httpx"
)

// fakeClock is a clock whose sleeps advance it at once.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return nil
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// budgetAPI serves a primary rate limit of budget requests per minute of
// the clock, answering 403 (and counting it) when a client overdraws it.
type budgetAPI struct {
	mu        sync.Mutex
	clock     *fakeClock
	budget    int
	remaining int
	reset     time.Time
	overdrawn int
	served    int
}

func (b *budgetAPI) handle(w http.ResponseWriter, _ *http.Request) {
	b.mu.Lock()
	now := b.clock.Now()
	if b.reset.IsZero() || !now.Before(b.reset) {
		b.remaining, b.reset = b.budget, now.Add(time.Minute).Truncate(time.Second)
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(b.budget))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	if b.remaining == 0 {
		b.overdrawn++
		b.mu.Unlock()
		h.Set("X-RateLimit-Remaining", "0")
		respond(http.StatusForbidden, `{"message":"API rate limit exceeded for user ID 1."}`)(w, nil)
		return
	}
	b.remaining--
	b.served++
	h.Set("X-RateLimit-Remaining", strconv.Itoa(b.remaining))
	b.mu.Unlock()
	ok()(w, nil)
}

func TestPacingHoldsNearZeroAndResumesAfterReset(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	api := &budgetAPI{clock: clock, budget: 5}
	f := newFakeAPI(t, api.handle)
	opts := fastOptions(f.url())
	opts.Now, opts.Sleep = clock.Now, clock.Sleep
	opts.Concurrency, opts.RateLimitMargin = 1, 1
	c := newClient(t, opts)
	for i := range 12 {
		if _, err := getRepo(t, c); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if api.overdrawn != 0 {
		t.Errorf("the client overdrew the rate limit %d times", api.overdrawn)
	}
	// 4 requests per window (the margin keeps 1): 12 requests, 2 holds,
	// each until the reset (a minute) plus the rounding second.
	sleeps := clock.Sleeps()
	if len(sleeps) != 2 {
		t.Fatalf("held %d times (%v), want 2", len(sleeps), sleeps)
	}
	for _, d := range sleeps {
		if d != 61*time.Second {
			t.Errorf("held for %v, want 61s (reset + 1s)", d)
		}
	}
	if got := c.Stats.RateLimitWait(); got != 122*time.Second {
		t.Errorf("Stats.RateLimitWait() = %v, want 2m2s", got)
	}
	assertStats(t, c, 12, 0)
}

func TestPacingBeyondMaxWaitFailsWithoutSending(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	api := &budgetAPI{clock: clock, budget: 5}
	f := newFakeAPI(t, api.handle)
	opts := fastOptions(f.url())
	opts.Now, opts.Sleep = clock.Now, clock.Sleep
	opts.Concurrency, opts.RateLimitMargin = 1, 1
	opts.MaxRateLimitWait = 30 * time.Second
	c := newClient(t, opts)
	for i := range 4 {
		if _, err := getRepo(t, c); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	call, _, err := c.GetRaw(context.Background(), "repos/acme/api")
	var exhausted *RateLimitExhaustedError
	if !errors.As(err, &exhausted) || !errors.Is(err, httpx.ErrNotSent) {
		t.Fatalf("err = %v, want a RateLimitExhaustedError", err)
	}
	if f.count() != 4 {
		t.Errorf("server saw %d requests, want 4 (the fifth not sent)", f.count())
	}
	if call.HTTPStatus != 0 || !strings.Contains(call.Message, "not sent") || !strings.Contains(call.Message, "core rate limit is exhausted until 2025-03-01T12:01:00Z") {
		t.Errorf("call = %+v, want status 0 and a message naming the reset", call)
	}
	if len(clock.Sleeps()) != 0 {
		t.Errorf("slept %v, want no wait beyond the maximum", clock.Sleeps())
	}
}

// signalHandler closes a channel when a log line contains a text.
type signalHandler struct {
	slog.Handler
	text string
	once sync.Once
	ch   chan struct{}
}

func (h *signalHandler) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.text) {
		h.once.Do(func() { close(h.ch) })
	}
	return nil
}

func (h *signalHandler) Enabled(context.Context, slog.Level) bool { return true }

// TestRetryAfterHoldsEveryWorker really waits (1s): a secondary limit told
// to one request holds the requests other workers start meanwhile.
func TestRetryAfterHoldsEveryWorker(t *testing.T) {
	var told atomic.Int64 // unix nanos of the 403
	var mu sync.Mutex
	var early []string
	first := true
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if first {
			first = false
			mu.Unlock()
			told.Store(time.Now().UnixNano())
			respond(http.StatusForbidden,
				`{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
				"Retry-After", "1", "X-RateLimit-Remaining", "4990")(w, r)
			return
		}
		if d := time.Since(time.Unix(0, told.Load())); d < 950*time.Millisecond {
			early = append(early, fmt.Sprintf("%s after %v", r.URL.Path, d))
		}
		mu.Unlock()
		ok()(w, r)
	})
	waiting := &signalHandler{text: "rate limit: waiting", ch: make(chan struct{})}
	opts := fastOptions(f.url())
	opts.Logger = slog.New(waiting)
	opts.Concurrency = 4
	c := newClient(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	wg.Go(func() {
		_, _, err := c.Repositories.Get(ctx, "acme", "first")
		errs <- err
	})
	<-waiting.ch // the first worker is backing off: the limit is known
	for _, name := range []string{"b", "c", "d"} {
		wg.Go(func() {
			_, _, err := c.Repositories.Get(ctx, "acme", name)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Get: %v", err)
		}
	}
	if len(early) > 0 {
		t.Errorf("requests sent before Retry-After elapsed: %v", early)
	}
	if f.count() != 5 {
		t.Errorf("server saw %d requests, want 5 (the 403, its retry and three others)", f.count())
	}
	// Four workers held for the same second: it counts once.
	if w := c.Stats.RateLimitWait(); w < time.Second || w > 1500*time.Millisecond {
		t.Errorf("Stats.RateLimitWait() = %v, want ≈1s", w)
	}
}

func TestConcurrencyBoundsRequestsInFlight(t *testing.T) {
	var running, peak atomic.Int32
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		ok()(w, r)
	})
	opts := fastOptions(f.url())
	opts.Concurrency = 3
	c := newClient(t, opts)
	if c.Concurrency() != 3 {
		t.Errorf("Concurrency() = %d, want 3", c.Concurrency())
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := getRepo(t, c); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak requests in flight = %d, want at most 3 (and some overlap)", p)
	}
}

func TestConcurrencyOption(t *testing.T) {
	for _, n := range []int{-1, 65} {
		if _, err := New(Options{BaseURL: "https://api.github.com/", Concurrency: n}); err == nil || !strings.Contains(err.Error(), "want 1 to 64") {
			t.Errorf("Concurrency %d: err = %v", n, err)
		}
	}
	var nilClient *Client
	if nilClient.Concurrency() != DefaultConcurrency {
		t.Error("a nil client's Concurrency is not the default")
	}
}

func TestStatsHeldForRateLimitCountsOverlapsOnce(t *testing.T) {
	var s Stats
	t0 := time.Unix(1000, 0)
	s.HeldForRateLimit(t0, 10*time.Second)
	s.HeldForRateLimit(t0.Add(time.Second), 5*time.Second)    // inside
	s.HeldForRateLimit(t0.Add(5*time.Second), 10*time.Second) // extends by 5s
	s.HeldForRateLimit(t0.Add(time.Minute), time.Second)      // apart
	if got := s.RateLimitWait(); got != 16*time.Second {
		t.Errorf("RateLimitWait() = %v, want 16s", got)
	}
}
