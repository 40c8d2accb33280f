package scheduler_test

import (
	"context"
	"iter"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/scheduler"
	"github.com/changeproof/changeproof/internal/spool"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

// slowCollector takes d per collection.
type slowCollector struct {
	fakeCollector
	d time.Duration
}

func (f *slowCollector) Collect(ctx context.Context, req collectors.Request) (*collectors.Result, error) {
	res, err := f.fakeCollector.Collect(ctx, req)
	select {
	case <-time.After(f.d):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return res, err
}

// Once shutdown begins, the catch-up in progress finishes its window and
// starts no other.
func TestShutdownStartsNoFurtherCatchUpWindow(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	col := &slowCollector{d: 300 * time.Millisecond}
	f.job.Collector = col
	f.clock.Set(day(1).Add(time.Minute))
	f.scheduler(scheduler.Options{}).Once(context.Background())
	f.clock.Set(day(20).Add(time.Minute)) // 19 windows due
	before := len(col.seen())
	s := f.scheduler(scheduler.Options{ShutdownGrace: 3 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Serve(ctx); close(done) }()
	time.Sleep(100 * time.Millisecond) // the first catch-up window runs
	cancel()
	<-done
	if started := len(col.seen()) - before; started != 1 {
		t.Fatalf("%d windows started; want only the one in progress at shutdown", started)
	}
	runs, err := f.ledger.Runs(context.Background(), "bp-daily")
	if err != nil || len(runs) != 2 || runs[1].Statement.Predicate.Status != evidence.RunSuccess {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
}

// flakyStore fails every call with ErrUnavailable while down is set.
type flakyStore struct {
	storage.Store
	down *atomic.Bool
}

func (s flakyStore) Put(ctx context.Context, key string, data []byte) error {
	if s.down.Load() {
		return storage.ErrUnavailable
	}
	return s.Store.Put(ctx, key, data)
}

func (s flakyStore) Get(ctx context.Context, key string) ([]byte, error) {
	if s.down.Load() {
		return nil, storage.ErrUnavailable
	}
	return s.Store.Get(ctx, key)
}

func (s flakyStore) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	if s.down.Load() {
		return func(yield func(storage.ObjectInfo, error) bool) { yield(storage.ObjectInfo{}, storage.ErrUnavailable) }
	}
	return s.Store.List(ctx, prefix)
}

// spoolOver puts the fixture's store behind a spool and a switch that
// takes it down; it returns the store as it was.
func spoolOver(t *testing.T, f *fixture) (remote storage.Store, sp *spool.Store, down *atomic.Bool) {
	t.Helper()
	down = &atomic.Bool{}
	remote = f.ledger.Store
	sp, err := spool.Open(flakyStore{remote, down}, "file://x", filepath.Join(t.TempDir(), "spool"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.ledger.Store = sp
	return remote, sp, down
}

// downDuringCollect takes the store down while collecting.
type downDuringCollect struct {
	fakeCollector
	down *atomic.Bool
}

func (f *downDuringCollect) Collect(ctx context.Context, req collectors.Request) (*collectors.Result, error) {
	f.down.Store(true)
	return f.fakeCollector.Collect(ctx, req)
}

// When the store goes away during a run, the run record joins the
// evidence in the spool, and both reach the store, in order, once it is
// back.
func TestStoreLostDuringARunSpoolsTheRunRecordToo(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	remote, sp, down := spoolOver(t, f)
	f.job.Collector = &downDuringCollect{down: down}
	f.clock.Set(day(23).Add(time.Minute))
	rs := f.scheduler(scheduler.Options{}).Once(context.Background())
	if len(rs) != 1 || rs[0].Evidence == nil || rs[0].Record == nil || rs[0].RecordErr != nil {
		t.Fatalf("results = %+v", rs)
	}
	var runs int
	for _, k := range sp.Spooled() {
		if strings.HasPrefix(k, "runs/") {
			runs++
		}
	}
	if runs != 1 {
		t.Fatalf("spooled %v; want the run record among them", sp.Spooled())
	}
	down.Store(false)
	if _, err := sp.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.ledger.Store = remote
	got, err := f.ledger.Runs(context.Background(), "bp-daily")
	if err != nil || len(got) != 1 || got[0].Key != rs[0].Record.Key {
		t.Fatalf("runs in the store after the flush: %+v, %v", got, err)
	}
}

// After an outage, once the spool is flushed, the daemon's next runs write
// to the store again, not to the spool.
func TestTheDaemonReturnsToTheStoreAfterAnOutage(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	remote, sp, down := spoolOver(t, f)
	down.Store(true)
	if err := sp.Put(context.Background(), "raw/"+strings.Repeat("0", 64)+".json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	down.Store(false)
	s := f.scheduler(scheduler.Options{Flush: func(ctx context.Context) error { _, err := sp.Flush(ctx); return err }})
	f.clock.Set(day(23).Add(time.Minute))
	rs := s.RunDue(context.Background(), f.job, evidence.TriggerSchedule)
	if len(rs) != 1 || rs[0].Record == nil {
		t.Fatalf("results = %+v", rs)
	}
	if _, err := remote.Get(context.Background(), rs[0].Evidence.Key); err != nil {
		t.Fatalf("the evidence is not in the store: %v (spooled: %v)", err, sp.Spooled())
	}
	if _, err := remote.Get(context.Background(), rs[0].Record.Key); err != nil {
		t.Fatalf("the run record is not in the store: %v", err)
	}
}

// failFirstRunPut fails the first Put of a run record.
type failFirstRunPut struct {
	storage.Store
	failed *atomic.Bool
}

func (s failFirstRunPut) Put(ctx context.Context, key string, data []byte) error {
	if strings.HasPrefix(key, "runs/") && !s.failed.Swap(true) {
		return storage.ErrInvalidKey // a refusal that is not spooled
	}
	return s.Store.Put(ctx, key, data)
}

// If the record of windows missed beyond the catch-up limit cannot be
// written, no window after them is collected: the gap would go unrecorded.
// The next pass records it and goes on.
func TestAnUnrecordedMissedPeriodStopsTheCatchUp(t *testing.T) {
	f := newFixture(t, "@daily", time.UTC)
	f.clock.Set(day(1).Add(time.Minute))
	f.scheduler(scheduler.Options{MaxCatchUp: 3}).Once(context.Background())
	store := f.ledger.Store
	f.ledger.Store = failFirstRunPut{store, &atomic.Bool{}}
	f.clock.Set(day(10).Add(time.Minute))
	rs := f.scheduler(scheduler.Options{MaxCatchUp: 3}).Once(context.Background())
	if len(rs) != 1 || rs[0].Status != evidence.RunMissed || rs[0].Record != nil {
		t.Fatalf("first pass: %+v", rs)
	}
	rs = f.scheduler(scheduler.Options{MaxCatchUp: 3}).Once(context.Background())
	if len(rs) != 4 || rs[0].Status != evidence.RunMissed || rs[0].Record == nil {
		t.Fatalf("second pass: %+v", rs)
	}
	runs, err := f.ledger.Runs(context.Background(), "bp-daily")
	if err != nil {
		t.Fatal(err)
	}
	var ws []schedules.Window
	for _, r := range runs {
		ws = append(ws, r.Statement.Predicate.Window)
	}
	for i := 1; i < len(ws); i++ {
		if !ws[i].Start.Equal(ws[i-1].End) {
			t.Fatalf("recorded windows do not join: %v", ws)
		}
	}
	if len(ws) != 5 {
		t.Fatalf("windows = %v", ws)
	}
}
