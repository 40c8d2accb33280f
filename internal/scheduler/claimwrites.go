package scheduler

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/pipeline"
	"github.com/changeproof/changeproof/storage"
)

// claimContext is the context of a claimed run's writes: it ends when the
// claim expires, on the scheduler's clock (looked at on every Err, so a
// store that checks its context just before writing refuses a write that
// would land after the expiry) and on the wall clock; or recordTimeout
// after the run's context ended (shutdown), as records' writes do.
type claimContext struct {
	context.Context
	cancel context.CancelCauseFunc
	now    func() time.Time
	until  time.Time
	stops  []func() bool
	once   sync.Once
}

// errClaimEnded is the cause of a claimContext that ended with its claim.
var errClaimEnded = fmt.Errorf("the run's claim on the window expired: %w", context.DeadlineExceeded)

func newClaimContext(ctx context.Context, now func() time.Time, until time.Time) *claimContext {
	base, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	c := &claimContext{Context: base, cancel: cancel, now: now, until: until}
	wall := time.AfterFunc(until.Sub(now()), func() { cancel(errClaimEnded) })
	var grace *time.Timer
	var mu sync.Mutex
	c.stops = append(c.stops, wall.Stop, context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		grace = time.AfterFunc(recordTimeout, func() { cancel(context.Cause(ctx)) })
	}), func() bool {
		mu.Lock()
		defer mu.Unlock()
		if grace != nil {
			grace.Stop()
		}
		return true
	})
	return c
}

// Err ends the context once the claim expired on the scheduler's clock.
func (c *claimContext) Err() error {
	if !c.now().Before(c.until) {
		c.cancel(errClaimEnded)
	}
	err := c.Context.Err()
	if err != nil && context.Cause(c.Context) == errClaimEnded {
		return context.DeadlineExceeded
	}
	return err
}

// Deadline is when the claim expires, on the wall clock.
func (c *claimContext) Deadline() (time.Time, bool) {
	return time.Now().Add(c.until.Sub(c.now())), true
}

func (c *claimContext) stop() {
	c.once.Do(func() {
		for _, f := range c.stops {
			f()
		}
		c.cancel(context.Canceled)
	})
}

// stopAt is a collector whose collection also ends when stop does (a
// margin before the run's claim expires), while the run's writes go on.
type stopAt struct {
	collectors.Collector
	stop context.Context
}

func (c stopAt) Collect(ctx context.Context, req collectors.Request) (*collectors.Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(c.stop, func() { cancel(context.Cause(c.stop)) })()
	return c.Collector.Collect(ctx, req)
}

// PointInTime passes the collector's answer on (collectors.PointInTime).
func (c stopAt) PointInTime() bool {
	pit, ok := c.Collector.(collectors.PointInTime)
	return ok && pit.PointInTime()
}

// guardedRunner is r writing through a store that, right before an
// evidence envelope is written, checks that wc is still the window's
// claim: not taken over, not expired.
func (s *Scheduler) guardedRunner(r *pipeline.Runner, wc *ledger.WindowClaim) *pipeline.Runner {
	if r == nil || r.Ledger == nil {
		return r
	}
	guarded, l := *r, *r.Ledger
	l.Store = claimGuard{Store: l.Store, s: s, wc: wc}
	guarded.Ledger = &l
	return &guarded
}

// claimGuard refuses to write an evidence envelope under a claim that
// expired or was taken over (the "superseded" check of the run record,
// made before the envelope too).
type claimGuard struct {
	storage.Store
	s  *Scheduler
	wc *ledger.WindowClaim
}

func (g claimGuard) Put(ctx context.Context, key string, data []byte) error {
	if strings.HasPrefix(key, ledger.EvidencePrefix) {
		if !g.s.opts.Now().Before(g.wc.Claim.ExpiresAt) {
			return fmt.Errorf("storing %s: not written: the run's claim %s expired at %s", key, g.wc.Key, g.wc.Claim.ExpiresAt.UTC().Format(time.RFC3339))
		}
		// A store that cannot say is taken to mean not taken over, as
		// before the run record: the envelope may then go to a spool.
		if took := g.s.superseded(ctx, g.wc); took != nil {
			return fmt.Errorf("storing %s: not written: the window's claim was taken over by %s (claim %s)", key, took.Holder, took.Key)
		}
	}
	return g.Store.Put(ctx, key, data)
}
