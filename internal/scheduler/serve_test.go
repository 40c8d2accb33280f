package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/scheduler"
	"github.com/changeproof/changeproof/schedules"
)

// These tests use the real clock: cron fires on wall-clock seconds.

func serveFor(t *testing.T, s *scheduler.Scheduler, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	time.Sleep(d)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

func TestServeEverySecondGivesContiguousWindows(t *testing.T) {
	f := newFixture(t, "@every 1s", time.UTC)
	m := scheduler.NewMetrics()
	// The real clock: cron ticks in real time.
	f.job.Runner.Now = time.Now
	s := scheduler.New([]*scheduler.Job{f.job}, scheduler.Options{Ledger: f.ledger, Metrics: m})
	serveFor(t, s, 3500*time.Millisecond)
	runs, err := f.ledger.Runs(context.Background(), "bp-daily")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) < 3 {
		t.Fatalf("%d runs in 3.5s of a 1s schedule", len(runs))
	}
	var ws []schedules.Window
	for i, r := range runs {
		p := r.Statement.Predicate
		if p.Status != evidence.RunSuccess {
			t.Fatalf("run %d: %s %s", i, p.Status, p.Error)
		}
		want := evidence.TriggerSchedule
		if i == 0 {
			want = evidence.TriggerCatchUp
		}
		if p.Trigger != want {
			t.Errorf("run %d trigger %s, want %s", i, p.Trigger, want)
		}
		if p.Window.Duration() != time.Second || p.Window.Start.Nanosecond() != 0 {
			t.Errorf("run %d window %s is not one aligned second", i, p.Window)
		}
		ws = append(ws, p.Window)
	}
	assertContiguous(t, ws)
	t.Logf("daemon windows: %v", ws)
	body := gather(t, m)
	if got := body[`changeproof_job_runs_total{job="bp-daily",status="success"}`]; int(got) != len(runs) {
		t.Errorf("runs_total = %v, want %d", got, len(runs))
	}
}

func TestServeSkipsTicksWhileRunningAndStillLeavesNoGap(t *testing.T) {
	f := newFixture(t, "@every 1s", time.UTC)
	f.job.Runner.Now = time.Now
	f.col.block = make(chan struct{})
	m := scheduler.NewMetrics()
	s := scheduler.New([]*scheduler.Job{f.job}, scheduler.Options{Ledger: f.ledger, Metrics: m})
	// Each run takes 1.6s of a 1s schedule: ticks come while it runs.
	go func() {
		for {
			time.Sleep(1600 * time.Millisecond)
			select {
			case f.col.block <- struct{}{}:
			case <-time.After(5 * time.Second):
				return
			}
		}
	}()
	serveFor(t, s, 5*time.Second)
	body := gather(t, m)
	if skipped := body[`changeproof_job_skipped_ticks_total{job="bp-daily"}`]; skipped < 1 {
		t.Errorf("skipped ticks = %v, want some", skipped)
	}
	runs, err := f.ledger.Runs(context.Background(), "bp-daily")
	if err != nil {
		t.Fatal(err)
	}
	var ws []schedules.Window
	for _, r := range runs {
		if r.Statement.Predicate.Status == evidence.RunSuccess {
			ws = append(ws, r.Statement.Predicate.Window)
		}
	}
	if len(ws) < 3 {
		t.Fatalf("only %d successful runs", len(ws))
	}
	assertContiguous(t, ws)
	// Overlapping runs never happened: the collector saw each window once.
	seen := map[schedules.Window]int{}
	for _, w := range f.col.seen() {
		if seen[w]++; seen[w] > 1 {
			t.Errorf("window %s collected twice", w)
		}
	}
}

func TestServeShutdownAbandonsARunAfterTheGrace(t *testing.T) {
	f := newFixture(t, "@every 1s", time.UTC)
	f.job.Runner.Now = time.Now
	f.col.block = make(chan struct{}) // never released
	f.col.started = make(chan struct{}, 1)
	s := scheduler.New([]*scheduler.Job{f.job}, scheduler.Options{Ledger: f.ledger, ShutdownGrace: 300 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	<-f.col.started
	cancel()
	start := time.Now()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("returned after %s, before the grace", el)
	}
	if s.Healthy() {
		t.Error("still healthy after shutdown")
	}
	runs, err := f.ledger.Runs(context.Background(), "bp-daily")
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %d, %v", len(runs), err)
	}
	p := runs[0].Statement.Predicate
	if p.Status != evidence.RunInterrupted || len(p.Evidence) != 1 || p.Evidence[0].Status != evidence.StatusError {
		t.Fatalf("record = %+v", p)
	}
	if end, _ := f.ledger.LastWindowEnd(context.Background(), "bp-daily"); !end.IsZero() {
		t.Fatalf("an interrupted window counts as collected: %s", end)
	}
}
