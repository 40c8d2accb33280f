package scheduler_test

// Regression tests for the window claims: each states a behaviour the
// docs promise and that an earlier version broke.

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/scheduler"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

// scheduledEnd is the end of the newest window the schedule recorded.
func scheduledEnd(t *testing.T, f *fixture) time.Time {
	t.Helper()
	end, err := f.ledger.LastWindowEnd(context.Background(), "bp-daily")
	if err != nil {
		t.Fatal(err)
	}
	return end
}

// TestAManualCollectBeforeTheScheduleDoesNotStallIt: a `collect --job NAME`
// (manual; its default window is the job's latest complete one) run before
// the schedule got to that window settles the window's generation-0 claim
// with a manual record. The schedule does not count manual runs as
// collecting its windows (LastWindowEnd), so its claims must not either:
// its next pass collects the window under the next generation and goes
// on, instead of finding it "collected" for ever.
func TestAManualCollectBeforeTheScheduleDoesNotStallIt(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	ctx := context.Background()
	s := f.host("host-a", time.Hour)
	// The schedule has run up to day 22.
	f.clock.Set(day(22).Add(5 * time.Minute))
	if rs := s.Once(ctx); len(rs) != 1 || rs[0].Record == nil {
		t.Fatalf("day 22: %+v", rs)
	}
	// On day 23, before the schedule's pass (daemon down, CronJob late or
	// suspended), an operator runs `collect --job bp-daily`: its window is
	// the latest complete one, day 22 to 23.
	f.clock.Set(day(23).Add(2 * time.Minute))
	if r := s.RunWindow(ctx, f.job, schedules.Window{Start: day(22), End: day(23)}, evidence.TriggerManual); r.Record == nil {
		t.Fatalf("manual run: %+v", r)
	}
	// The schedule resumes. A week later it still has not collected a
	// single window.
	var last []scheduler.Result
	for d := 23; d <= 30; d++ {
		f.clock.Set(day(d).Add(5 * time.Minute))
		last = s.Once(ctx)
	}
	if end := scheduledEnd(t, f); !end.Equal(day(30)) {
		t.Fatalf("after a week of passes the schedule's last window ends %s, want %s; last pass: held=%v err=%v",
			end.Format(time.RFC3339), day(30).Format(time.RFC3339), last[0].Held != nil, last[0].Err)
	}
	// Every day collected by the schedule, contiguous; day 22 under the
	// generation after the manual run's, taking nothing over.
	recs, err := f.ledger.Runs(ctx, "bp-daily")
	if err != nil {
		t.Fatal(err)
	}
	var scheduled []schedules.Window
	for _, r := range recs {
		p := r.Statement.Predicate
		if p.Trigger == evidence.TriggerManual {
			continue
		}
		if p.Status != evidence.RunSuccess {
			t.Fatalf("scheduled run of %s: %s %s", p.Window, p.Status, p.Error)
		}
		scheduled = append(scheduled, p.Window)
		if p.Window.Start.Equal(day(22)) && (p.Claim == nil || !strings.HasSuffix(p.Claim.Key, "/000001.json") || p.Claim.TakenOverFrom != nil) {
			t.Fatalf("the scheduled run of day 22 claims %+v", p.Claim)
		}
	}
	if len(scheduled) != 9 || !scheduled[0].Start.Equal(day(21)) {
		t.Fatalf("scheduled windows %v, want days 21 to 29", scheduled)
	}
	assertContiguous(t, scheduled)
}

// TestAPlantedLastGenerationClaimIsPassedOver: a claim object planted at
// generation 999999 (by anyone who can write the store; the keys are
// predictable) claims nothing: generations count only when all those
// before them exist. It used to block the job for ever ("claim generation
// 1000000"), its object impossible to remove from an object-locked bucket.
func TestAPlantedLastGenerationClaimIsPassedOver(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	ctx := context.Background()
	s := f.host("host-a", time.Hour)
	f.clock.Set(day(22).Add(5 * time.Minute))
	if rs := s.Once(ctx); len(rs) != 1 || rs[0].Record == nil {
		t.Fatalf("day 22: %+v", rs)
	}
	key, err := ledger.ClaimKey("bp-daily", schedules.Window{Start: day(22), End: day(23)}, 999999)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ledger.Store.Put(ctx, key, []byte(`{"expiresAt":"2000-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	var last []scheduler.Result
	for d := 23; d <= 30; d++ {
		f.clock.Set(day(d).Add(5 * time.Minute))
		last = s.Once(ctx)
	}
	if end := scheduledEnd(t, f); !end.Equal(day(30)) {
		t.Fatalf("a week after the planted claim (long expired) the schedule's last window ends %s, want %s; last pass: %v",
			end.Format(time.RFC3339), day(30).Format(time.RFC3339), last[0].Err)
	}
}

// takeOverOnEvidencePut runs hook once, just before the first evidence Put
// reaches the store: the moment the holder, stopped at its claim's expiry,
// writes its error envelope.
type takeOverOnEvidencePut struct {
	storage.Store
	once *atomic.Bool
	hook func()
}

func (s takeOverOnEvidencePut) Put(ctx context.Context, key string, data []byte) error {
	if strings.HasPrefix(key, "evidence/") && !s.once.Swap(true) {
		s.hook()
	}
	return s.Store.Put(ctx, key, data)
}

// TestAStoppedRunWritesNothingAfterItsClaimExpired: a run whose collection
// outlives its claim is stopped a margin before the claim expires, and
// writes nothing once it has: here its error envelope's write is slow
// enough that a taker (on the same clock, no skew) takes the window over
// and collects it meanwhile. The late envelope must not reach the store:
// one envelope for the window, the taker's, named by its run record.
func TestAStoppedRunWritesNothingAfterItsClaimExpired(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	ctx := context.Background()
	f.clock.Set(day(23).Add(5 * time.Minute))
	f.col.block = make(chan struct{}) // host-a's collection hangs (a rate-limit wait) until its claim ends
	ttl := 300 * time.Millisecond
	a := f.host("host-a", ttl)

	// host-b runs the same job with a collector that completes.
	jobB := *f.job
	jobB.Collector = &fakeCollector{}
	b := scheduler.New([]*scheduler.Job{&jobB}, scheduler.Options{
		Ledger: f.ledger, Now: f.clock.Now, Producer: evidence.Producer{Name: "changeproof", Version: "test"},
		Claims: &ledger.Claims{Store: f.ledger.Store, Ledger: f.ledger, TTL: ttl, Now: f.clock.Now,
			Holder: ledger.ClaimHolder{Host: "host-b", PID: 1, RunID: "host-b-run"}},
	})
	var rb []scheduler.Result
	store := f.ledger.Store
	f.ledger.Store = takeOverOnEvidencePut{Store: store, once: &atomic.Bool{}, hook: func() {
		// host-a's claim expires while its write is under way: host-b's
		// pass comes now, on the same clock.
		f.clock.Set(day(23).Add(5*time.Minute + time.Second))
		rb = b.Once(ctx)
	}}
	ra := a.Once(ctx)
	f.ledger.Store = store
	if len(rb) != 1 || rb[0].Record == nil || rb[0].Record.Statement.Predicate.Claim.TakenOverFrom == nil {
		t.Fatalf("host-b did not take the window over: %+v", rb)
	}
	var envelopes int
	for obj, err := range store.List(ctx, ledger.EvidencePrefix) {
		if err != nil {
			t.Fatal(err)
		}
		_ = obj
		envelopes++
	}
	pem, _ := f.ledger.Signer.PublicKeyPEM()
	pub, _ := evidence.ParsePublicKey(pem)
	if v, err := evidence.NewVerifier(pub); err == nil {
		if rep, err := ledger.Verify(ctx, store, v, ledger.VerifyOptions{}); err == nil {
			for _, p := range rep.Problems {
				t.Logf("verify: %s: %s", p.Key, p.Reason)
			}
		}
	}
	if envelopes != 1 {
		t.Fatalf("%d evidence envelopes for one window (host-a: status %s, record %v, record error %v); want exactly one",
			envelopes, ra[0].Status, ra[0].Record != nil, ra[0].RecordErr)
	}
}

// exhaustedClaims is a store in which the claims of every window reached
// the last generation: it lists generations 0 to MaxClaimGeneration, each
// long expired, on top of what the store holds.
type exhaustedClaims struct{ storage.Store }

func (s exhaustedClaims) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	if !strings.HasPrefix(prefix, ledger.ClaimsPrefix) {
		return s.Store.List(ctx, prefix)
	}
	return func(yield func(storage.ObjectInfo, error) bool) {
		for g := range ledger.MaxClaimGeneration + 1 {
			if !yield(storage.ObjectInfo{Key: fmt.Sprintf("%s%06d.json", prefix, g), ModTime: day(1)}, nil) {
				return
			}
		}
	}
}

func (s exhaustedClaims) Get(ctx context.Context, key string) ([]byte, error) {
	if strings.HasPrefix(key, ledger.ClaimsPrefix) {
		return []byte(`{"expiresAt":"2026-11-01T01:00:00Z"}`), nil
	}
	return s.Store.Get(ctx, key)
}

// TestAWindowWhoseClaimsAreExhaustedIsRecordedAndTheJobGoesOn: a window
// whose claims reached the last generation (a million planted objects)
// cannot be claimed; the schedule records it as an error run saying why,
// without collecting it, and goes on with the next windows rather than
// stopping there for ever. A manual run of it fails, naming the cause.
func TestAWindowWhoseClaimsAreExhaustedIsRecordedAndTheJobGoesOn(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	ctx := context.Background()
	s := f.host("host-a", time.Hour)
	f.clock.Set(day(22).Add(5 * time.Minute))
	if rs := s.Once(ctx); len(rs) != 1 || rs[0].Record == nil {
		t.Fatalf("day 22: %+v", rs)
	}
	store := f.ledger.Store
	f.ledger.Store = exhaustedClaims{Store: store}
	b := scheduler.New([]*scheduler.Job{f.job}, scheduler.Options{
		Ledger: f.ledger, Now: f.clock.Now, Producer: evidence.Producer{Name: "changeproof", Version: "test"},
		Claims: &ledger.Claims{Store: f.ledger.Store, Ledger: f.ledger, TTL: time.Hour, Now: f.clock.Now,
			Holder: ledger.ClaimHolder{Host: "host-a", PID: 1, RunID: "host-a-run"}},
	})
	f.clock.Set(day(23).Add(5 * time.Minute))
	rs := b.Once(ctx)
	f.ledger.Store = store
	if len(rs) != 1 || rs[0].Status != evidence.RunError || rs[0].Record == nil || !strings.Contains(rs[0].Err.Error(), "reached their last generation") {
		t.Fatalf("exhausted window: %+v", rs)
	}
	p := rs[0].Record.Statement.Predicate
	if p.Claim != nil || len(p.Evidence) != 0 || !strings.Contains(p.Error, "not collected: ") || !strings.Contains(p.Error, "reached their last generation (999999") {
		t.Fatalf("record: claim %+v, evidence %v, error %q", p.Claim, p.Evidence, p.Error)
	}
	if got := len(f.col.seen()); got != 1 {
		t.Fatalf("%d collections, want 1 (day 21 only)", got)
	}
	// The next day's pass collects the next window.
	f.clock.Set(day(24).Add(5 * time.Minute))
	if rs := s.Once(ctx); len(rs) != 1 || rs[0].Status != evidence.RunSuccess || !rs[0].Window.Start.Equal(day(23)) {
		t.Fatalf("day 24: %+v", rs)
	}
	// A manual run of the exhausted window is refused.
	f.ledger.Store = exhaustedClaims{Store: store}
	r := b.RunWindow(ctx, f.job, schedules.Window{Start: day(22), End: day(23)}, evidence.TriggerManual)
	f.ledger.Store = store
	if r.Record != nil || !errors.Is(r.Err, ledger.ErrClaimsExhausted) {
		t.Fatalf("manual run of an exhausted window: %+v", r)
	}
}
