package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/scheduler"
	"github.com/changeproof/changeproof/schedules"
)

// host is a scheduler as another host runs it: the same store, its own
// claims holder, and no lock shared with the others.
func (f *fixture) host(name string, ttl time.Duration) *scheduler.Scheduler {
	return f.scheduler(scheduler.Options{Claims: &ledger.Claims{
		Store: f.ledger.Store, Ledger: f.ledger, TTL: ttl, Now: f.clock.Now,
		Holder: ledger.ClaimHolder{Host: name, PID: 1, RunID: name + "-run"},
	}})
}

func TestAWindowHeldByAnotherHostIsLeftToIt(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	f.clock.Set(day(23).Add(5 * time.Minute))
	f.col.block, f.col.started = make(chan struct{}), make(chan struct{}, 1)
	a, b := f.host("host-a", time.Hour), f.host("host-b", time.Hour)
	done := make(chan []scheduler.Result)
	go func() { done <- a.Once(context.Background()) }()
	<-f.col.started // host-a collects the window, holding its claim
	rs := b.Once(context.Background())
	if len(rs) != 1 || rs[0].Held == nil || rs[0].Record != nil || rs[0].Evidence != nil || !errors.Is(rs[0].Err, ledger.ErrClaimHeld) {
		t.Fatalf("host-b: %+v", rs)
	}
	if msg := rs[0].Err.Error(); !strings.Contains(msg, "is held by host-a/1/host-a-run until ") {
		t.Errorf("host-b was told %q", msg)
	}
	close(f.col.block)
	ra := <-done
	if len(ra) != 1 || ra[0].Status != evidence.RunSuccess || ra[0].Record == nil {
		t.Fatalf("host-a: %+v", ra)
	}
	claim := ra[0].Record.Statement.Predicate.Claim
	if claim == nil || !strings.HasPrefix(claim.Key, "claims/bp-daily/20261122T000000.000000000Z_20261123T000000.000000000Z/000000.json") || claim.TakenOverFrom != nil {
		t.Fatalf("host-a's record claims %+v", claim)
	}
	// Once host-a recorded it, nobody collects the window again; a manual
	// run may, under the next generation.
	if rs := b.Once(context.Background()); len(rs) != 0 {
		t.Fatalf("host-b after host-a: %+v", rs)
	}
	w := schedules.Window{Start: day(22), End: day(23)}
	r := b.RunWindow(context.Background(), f.job, w, evidence.TriggerManual)
	if r.Status != evidence.RunSuccess || r.Record == nil || !strings.HasSuffix(r.Record.Statement.Predicate.Claim.Key, "/000001.json") {
		t.Fatalf("manual run: %+v", r)
	}
	if got := len(f.col.seen()); got != 2 {
		t.Fatalf("%d collections, want 2 (host-a's, the manual one)", got)
	}
}

func TestARunEndsWithItsClaim(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	f.clock.Set(day(23).Add(5 * time.Minute))
	f.col.block = make(chan struct{}) // never released: only the claim's end stops it
	start := time.Now()
	rs := f.host("slow", 300*time.Millisecond).Once(context.Background())
	if len(rs) != 1 || rs[0].Status != evidence.RunError || rs[0].Record == nil {
		t.Fatalf("results: %+v", rs)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the run took %s past its claim", took)
	}
	if e := rs[0].Record.Statement.Predicate.Error; !strings.Contains(e, "stopped when its claim on the window was about to expire (scheduler.claim_ttl 300ms") {
		t.Fatalf("recorded error %q", e)
	}
}
