package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

var claimWindow = schedules.Window{
	Start: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
	End:   time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
}

func TestClaimKeys(t *testing.T) {
	key, err := ledger.ClaimKey("bp-daily", claimWindow, 7)
	if err != nil {
		t.Fatal(err)
	}
	if want := "claims/bp-daily/20261123T000000.000000000Z_20261124T000000.000000000Z/000007.json"; key != want {
		t.Fatalf("key %s, want %s", key, want)
	}
	if err := storage.ValidateKey(key); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ledger.EvidencePrefix, ledger.RunsPrefix, ledger.RawPrefix, ledger.KeysPrefix} {
		if strings.HasPrefix(key, p) {
			t.Errorf("claim key %s is under %s", key, p)
		}
	}
	pk, err := ledger.ParseClaimKey(key)
	if err != nil || pk.Job != "bp-daily" || pk.Generation != 7 || !pk.Window.Start.Equal(claimWindow.Start) || !pk.Window.End.Equal(claimWindow.End) {
		t.Fatalf("parsed %+v, %v", pk, err)
	}
	// A window in another zone is the same window, the same key.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if k, _ := ledger.ClaimKey("bp-daily", schedules.Window{Start: claimWindow.Start.In(berlin), End: claimWindow.End.In(berlin)}, 7); k != key {
		t.Errorf("zoned window: %s", k)
	}
	for _, bad := range []func() error{
		func() error { _, err := ledger.ClaimKey("Bad Job", claimWindow, 0); return err },
		func() error { _, err := ledger.ClaimKey("bp", claimWindow, -1); return err },
		func() error { _, err := ledger.ClaimKey("bp", claimWindow, 1_000_000); return err },
		func() error {
			_, err := ledger.ClaimKey("bp", schedules.Window{Start: claimWindow.End, End: claimWindow.Start}, 0)
			return err
		},
		func() error { _, err := ledger.ParseClaimKey("claims/bp/x_y/000000.json"); return err },
		func() error {
			_, err := ledger.ParseClaimKey("claims/bp/20261124T000000.000000000Z_20261123T000000.000000000Z/000000.json")
			return err
		},
	} {
		if bad() == nil {
			t.Error("accepted a bad claim key or window")
		}
	}
}

// claimClock is a clock near real time (the file store's modification
// times are real), moved by hand.
type claimClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *claimClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *claimClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func claimsOf(e *env, clock *claimClock, host string) *ledger.Claims {
	return &ledger.Claims{Store: e.store, Ledger: e.ledger, TTL: time.Hour, Now: clock.Now,
		Holder: ledger.ClaimHolder{Host: host, PID: 1, RunID: "r-" + host}}
}

// race has n holders claim the window at once; it returns the claim won
// and the errors of the others.
func race(t *testing.T, e *env, clock *claimClock, n int, again bool) (won []*ledger.WindowClaim, held []*ledger.HeldError) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			wc, err := claimsOf(e, clock, fmt.Sprintf("host-%d", i)).Acquire(context.Background(), "bp", claimWindow, again)
			mu.Lock()
			defer mu.Unlock()
			var he *ledger.HeldError
			switch {
			case err == nil:
				won = append(won, wc)
			case errors.As(err, &he) && errors.Is(err, ledger.ErrClaimHeld):
				held = append(held, he)
			default:
				t.Errorf("holder %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(won) != 1 || len(held) != n-1 {
		t.Fatalf("%d won, %d held, want 1 and %d", len(won), len(held), n-1)
	}
	for _, h := range held {
		if h.Holder != won[0].Claim.Holder.String() || h.Key != won[0].Key {
			t.Errorf("held by %s (%s), but %s won %s", h.Holder, h.Key, won[0].Claim.Holder, won[0].Key)
		}
	}
	return won, held
}

func TestExactlyOneClaimOfAWindowAndOneTakeoverWhenItExpires(t *testing.T) {
	e := newEnv(t)
	// The first claim is made two hours ago (a crashed run): the store's
	// modification time (now) only ever shortens what a claim says.
	now := time.Now().UTC()
	clock := &claimClock{t: now.Add(-2 * time.Hour)}
	won, held := race(t, e, clock, 16, false)
	first := won[0]
	if first.Claim.Generation != 0 || first.TakenOverFrom != nil || !strings.HasSuffix(first.Key, "/000000.json") {
		t.Fatalf("first claim %+v", first)
	}
	if want := "job bp: window " + claimWindow.String() + " is held by " + first.Claim.Holder.String() + " until "; !strings.Contains(held[0].Error(), want) {
		t.Errorf("message %q lacks %q", held[0].Error(), want)
	}
	if !held[0].Until.Equal(first.Claim.ExpiresAt) {
		t.Errorf("held until %s, want %s", held[0].Until, first.Claim.ExpiresAt)
	}
	// Just before it expires it still holds; after, exactly one takes over.
	clock.t = now.Add(-time.Hour - time.Second)
	if _, err := claimsOf(e, clock, "early").Acquire(context.Background(), "bp", claimWindow, false); !errors.Is(err, ledger.ErrClaimHeld) {
		t.Fatalf("a second before it expires: %v", err)
	}
	clock.t = now
	won, _ = race(t, e, clock, 16, false)
	taker := won[0]
	if taker.Claim.Generation != 1 || taker.Claim.TakesOver != first.Key {
		t.Fatalf("taker %+v", taker.Claim)
	}
	want := &evidence.ClaimTakeover{Key: first.Key, Holder: first.Claim.Holder.String(), ExpiredAt: first.Claim.ExpiresAt}
	if got := taker.TakenOverFrom; got == nil || *got != *want {
		t.Fatalf("taken over from %+v, want %+v", got, want)
	}
	if rc := taker.RunClaim(); rc.Key != taker.Key || rc.TakenOverFrom != taker.TakenOverFrom {
		t.Errorf("run claim %+v", rc)
	}
	// The first holder learns that its claim was taken over.
	c := claimsOf(e, clock, "x")
	if h, err := c.Superseded(context.Background(), first); err != nil || h == nil || h.Holder != taker.Claim.Holder.String() {
		t.Fatalf("superseded: %+v, %v", h, err)
	}
	if h, err := c.Superseded(context.Background(), taker); err != nil || h != nil {
		t.Fatalf("the newest claim superseded: %+v, %v", h, err)
	}
	if got := keys(t, e.store, ledger.ClaimsPrefix); len(got) != 2 {
		t.Fatalf("claims in the store: %v", got)
	}
}

func TestAClaimSettledByItsRunRecord(t *testing.T) {
	e := newEnv(t)
	clock := &claimClock{t: time.Now().UTC()}
	won, _ := race(t, e, clock, 1, false)
	ev := e.append("branch-protection", "github.com/bp", map[string]string{"job": "bp"})
	rec := e.record("bp", evidence.RunSuccess, evidence.TriggerSchedule, ev)
	rec.Window = claimWindow
	rec.Claim = won[0].RunClaim()
	run := e.appendRun(rec)
	// A scheduled run is told the window was collected, expired or not.
	for _, d := range []time.Duration{0, 2 * time.Hour} {
		clock.add(d)
		_, err := claimsOf(e, clock, "late").Acquire(context.Background(), "bp", claimWindow, false)
		var he *ledger.HeldError
		if !errors.As(err, &he) || he.Record != run.Key || !strings.Contains(err.Error(), "was collected by "+won[0].Claim.Holder.String()+" (run record "+run.Key) {
			t.Fatalf("after %s: %v", d, err)
		}
	}
	// A manual run collects it again, under the next generation, taking
	// nothing over.
	wc, err := claimsOf(e, clock, "manual").Acquire(context.Background(), "bp", claimWindow, true)
	if err != nil || wc.Claim.Generation != 1 || wc.TakenOverFrom != nil || wc.Claim.TakesOver != "" {
		t.Fatalf("again: %+v, %v", wc, err)
	}
	// An interrupted run's record reopens its claim: the window is
	// collected again, under the next generation, without a takeover.
	w2 := schedules.Window{Start: claimWindow.End, End: claimWindow.End.Add(24 * time.Hour)}
	c2, err := claimsOf(e, clock, "stopped").Acquire(context.Background(), "bp", w2, false)
	if err != nil {
		t.Fatal(err)
	}
	rec2 := e.record("bp", evidence.RunInterrupted, evidence.TriggerSchedule)
	rec2.Window, rec2.Claim = w2, c2.RunClaim()
	e.appendRun(rec2)
	if wc, err := claimsOf(e, clock, "next").Acquire(context.Background(), "bp", w2, false); err != nil || wc.Claim.Generation != 1 || wc.TakenOverFrom != nil {
		t.Fatalf("after an interrupted run: %+v, %v", wc, err)
	}
	if got, err := e.ledger.Recorded(context.Background(), "bp", claimWindow); err != nil || got == nil || got.Key != run.Key {
		t.Fatalf("recorded: %+v, %v", got, err)
	}
	if got, err := e.ledger.Recorded(context.Background(), "bp", schedules.Window{Start: claimWindow.End, End: claimWindow.End.Add(time.Hour)}); err != nil || got != nil {
		t.Fatalf("a later window recorded: %+v, %v", got, err)
	}
}

// TestPlantedClaimsHoldAtMostOneTTL: a claim that says it expires in the
// far future, or that cannot be read, holds the window for one TTL (and
// its grace, ClaimMargin) after the store took it, not longer.
func TestPlantedClaimsHoldAtMostOneTTL(t *testing.T) {
	e := newEnv(t)
	clock := &claimClock{t: time.Now().UTC()}
	ctx := context.Background()
	key, _ := ledger.ClaimKey("bp", claimWindow, 0)
	if err := e.store.Put(ctx, key, []byte(`{"job":"bp","holder":{"host":"mallory","pid":1,"runId":"x"},"claimedAt":"2026-01-01T00:00:00Z","expiresAt":"9999-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	c := claimsOf(e, clock, "a")
	_, err := c.Acquire(ctx, "bp", claimWindow, false)
	var he *ledger.HeldError
	if !errors.As(err, &he) || !strings.Contains(he.Holder, "mallory") || he.Until.After(time.Now().Add(time.Hour+time.Minute)) {
		t.Fatalf("planted claim: %v", err)
	}
	// Nor during the grace after that TTL; just after it, it is taken over.
	clock.add(time.Hour + ledger.ClaimMargin(time.Hour) - time.Minute)
	if _, err := c.Acquire(ctx, "bp", claimWindow, false); !errors.As(err, &he) {
		t.Fatalf("planted claim within the grace: %v", err)
	}
	clock.add(2 * time.Minute)
	wc, err := c.Acquire(ctx, "bp", claimWindow, false)
	if err != nil || wc.TakenOverFrom == nil || !strings.Contains(wc.TakenOverFrom.Holder, "mallory") {
		t.Fatalf("takeover of a planted claim: %+v, %v", wc, err)
	}

	garbage, _ := ledger.ClaimKey("bp", schedules.Window{Start: claimWindow.End, End: claimWindow.End.Add(time.Hour)}, 0)
	if err := e.store.Put(ctx, garbage, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	w := schedules.Window{Start: claimWindow.End, End: claimWindow.End.Add(time.Hour)}
	clock.t = time.Now().UTC()
	if _, err := c.Acquire(ctx, "bp", w, false); !errors.As(err, &he) || !strings.Contains(he.Holder, "unreadable claim") {
		t.Fatalf("unreadable claim: %v", err)
	}
	clock.add(time.Hour + ledger.ClaimMargin(time.Hour) + time.Minute)
	if wc, err := c.Acquire(ctx, "bp", w, false); err != nil || wc.TakenOverFrom == nil || wc.Claim.Generation != 1 {
		t.Fatalf("takeover of an unreadable claim: %+v, %v", wc, err)
	}
}

// TestClaimGenerationsCountOnlyWithoutGaps: generation N holds the window
// only when generations 0 to N-1 exist; a planted later generation is
// passed over, even by Superseded.
func TestClaimGenerationsCountOnlyWithoutGaps(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clock := &claimClock{t: time.Now().UTC()}
	for _, g := range []int{2, 999999} {
		key, _ := ledger.ClaimKey("bp", claimWindow, g)
		if err := e.store.Put(ctx, key, []byte(`{"expiresAt":"9999-01-01T00:00:00Z","holder":{"host":"mallory"}}`)); err != nil {
			t.Fatal(err)
		}
	}
	wc, err := claimsOf(e, clock, "a").Acquire(ctx, "bp", claimWindow, false)
	if err != nil || wc.Claim.Generation != 0 || wc.TakenOverFrom != nil {
		t.Fatalf("beside planted generations: %+v, %v", wc, err)
	}
	if h, err := claimsOf(e, clock, "a").Superseded(ctx, wc); err != nil || h != nil {
		t.Fatalf("superseded by a planted generation: %+v, %v", h, err)
	}
	// Generation 1 makes the chain reach the planted 2, which then holds.
	key, _ := ledger.ClaimKey("bp", claimWindow, 1)
	if err := e.store.Put(ctx, key, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if h, err := claimsOf(e, clock, "a").Superseded(ctx, wc); err != nil || h == nil || !strings.HasSuffix(h.Key, "/000002.json") {
		t.Fatalf("superseded: %+v, %v", h, err)
	}
}

// TestAScheduledRunReopensAClaimSettledOnlyByAManualRun: the schedule
// passes manual runs over (LastWindowEnd), so a window a manual run
// collected is claimed again by the schedule, under the next generation;
// another manual run is told nothing different from before.
func TestAScheduledRunReopensAClaimSettledOnlyByAManualRun(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	clock := &claimClock{t: time.Now().UTC()}
	won, err := claimsOf(e, clock, "manual").Acquire(ctx, "bp", claimWindow, true)
	if err != nil {
		t.Fatal(err)
	}
	rec := e.record("bp", evidence.RunSuccess, evidence.TriggerManual, e.append("branch-protection", "github.com/bp", map[string]string{"job": "bp"}))
	rec.Window, rec.Claim = claimWindow, won.RunClaim()
	e.appendRun(rec)
	wc, err := claimsOf(e, clock, "sched").Acquire(ctx, "bp", claimWindow, false)
	if err != nil || wc.Claim.Generation != 1 || wc.TakenOverFrom != nil {
		t.Fatalf("scheduled after manual: %+v, %v", wc, err)
	}
}

// TestAClaimOfThisHostAndLockIsTakenOverAtOnce: a process holding its
// host lock (ClaimHolder.Lock) takes over, unexpired, an unsettled claim
// of the same host and lock (its holder died); a claim of the same host
// under another lock, or of another host, still holds.
func TestAClaimOfThisHostAndLockIsTakenOverAtOnce(t *testing.T) {
	ctx := context.Background()
	clock := &claimClock{t: time.Now().UTC()}
	lockA, lockB := ledger.LockID("file:///store"), ledger.LockID("spool /x of s3://b")
	if lockA == lockB || len(lockA) != 16 {
		t.Fatalf("lock ids %q %q", lockA, lockB)
	}
	holder := func(host, lock string) *ledger.Claims {
		return &ledger.Claims{TTL: time.Hour, Now: clock.Now, Holder: ledger.ClaimHolder{Host: host, PID: 1, RunID: "r", Lock: lock}}
	}
	for _, tc := range []struct {
		name       string
		dead, next *ledger.Claims
		takeover   bool
	}{
		{"same host and lock", holder("pod-1", lockA), holder("pod-1", lockA), true},
		{"same host, another lock", holder("pod-1", lockA), holder("pod-1", lockB), false},
		{"another host", holder("pod-1", lockA), holder("pod-2", lockA), false},
		{"no lock", holder("pod-1", ""), holder("pod-1", ""), false},
	} {
		e := newEnv(t)
		for _, c := range []*ledger.Claims{tc.dead, tc.next} {
			c.Store, c.Ledger = e.store, e.ledger
		}
		first, err := tc.dead.Acquire(ctx, "bp", claimWindow, false)
		if err != nil {
			t.Fatal(err)
		}
		wc, err := tc.next.Acquire(ctx, "bp", claimWindow, false)
		switch {
		case tc.takeover && (err != nil || wc.TakenOverFrom == nil || wc.TakenOverFrom.Key != first.Key || wc.Claim.Generation != 1 ||
			wc.TakenOverFrom.ExpiredAt.After(clock.Now())):
			t.Errorf("%s: %+v, %v", tc.name, wc, err)
		case !tc.takeover && !errors.Is(err, ledger.ErrClaimHeld):
			t.Errorf("%s: not held: %+v, %v", tc.name, wc, err)
		}
	}
}
