// Package coveragetest builds stores of real signed evidence and run
// records for coverage tests: each run written the way the scheduler writes
// it (evidence first, then the run record naming it), with the ledger and a
// freshly generated key.
package coveragetest

import (
	"context"
	"encoding/json"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
)

// Builder writes signed evidence and run records to a store.
type Builder struct {
	t testing.TB
	// Dir is the file store's directory ("" for a memory store).
	Dir string
	// KeyFile and PubFile are the signing key and its public key.
	KeyFile, PubFile string
	Store            storage.Store
	Ledger           *ledger.Ledger
	Verifier         *evidence.Verifier

	evHeads  map[string]head
	runHeads map[string]head
}

type head struct {
	prev evidence.Previous
	at   time.Time
}

// New returns a builder over a file store in a temporary directory (the
// store is Dir/evidence), with a key pair in Dir.
func New(t testing.TB) *Builder {
	t.Helper()
	dir := t.TempDir()
	st, err := file.Open(context.Background(), "file://"+filepath.Join(dir, "evidence"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(t, dir, st)
	b.Dir = dir
	return b
}

// NewMemory returns a builder over an in-memory store (fast, for
// benchmarks), with a key pair in a temporary directory.
func NewMemory(t testing.TB) *Builder {
	t.Helper()
	return newBuilder(t, t.TempDir(), &Memory{})
}

func newBuilder(t testing.TB, keyDir string, st storage.Store) *Builder {
	b := &Builder{t: t, KeyFile: filepath.Join(keyDir, "signing.key"), PubFile: filepath.Join(keyDir, "signing.key.pub"),
		Store: st, evHeads: map[string]head{}, runHeads: map[string]head{}}
	if _, err := evidence.GenerateKeyFiles(b.KeyFile, b.PubFile); err != nil {
		t.Fatal(err)
	}
	priv, err := evidence.LoadPrivateKey(b.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := evidence.LoadPublicKey(b.PubFile)
	if err != nil {
		t.Fatal(err)
	}
	if b.Verifier, err = evidence.NewVerifier(pub); err != nil {
		t.Fatal(err)
	}
	b.Ledger = &ledger.Ledger{Store: st, Signer: signer}
	return b
}

// Run is one run of a job to write.
type Run struct {
	Job, Collector, Schedule, TimeZone string
	// Trigger defaults to schedule.
	Trigger string
	Window  schedules.Window
	Status  evidence.RunStatus
	// Error is the reason of a run that did not succeed (a default is
	// given).
	Error string
	// Findings of the one envelope a successful run writes (default: one
	// passing finding); the envelope's status is their overall status.
	Findings []evidence.Finding
	Controls []evidence.Control
	// FinishedAt defaults to a minute after the window's end.
	FinishedAt time.Time
}

// Write writes the run's evidence (for a successful run) and its run
// record, and returns both (the evidence entry is nil for other runs).
func (b *Builder) Write(r Run) (*ledger.Entry, *ledger.RunEntry) {
	b.t.Helper()
	ctx := context.Background()
	if r.Trigger == "" {
		r.Trigger = evidence.TriggerSchedule
	}
	if r.FinishedAt.IsZero() {
		r.FinishedAt = r.Window.End.Add(time.Minute)
	}
	col := evidence.CollectorInfo{Name: r.Collector, Version: "1.0.0"}
	rec := &evidence.RunRecord{
		Job: r.Job, Collector: col, Schedule: r.Schedule, TimeZone: r.TimeZone, Trigger: r.Trigger,
		Window: r.Window, StartedAt: r.FinishedAt.Add(-30 * time.Second), FinishedAt: r.FinishedAt,
		Status: r.Status, Error: r.Error, Producer: evidence.Producer{Name: "changeproof", Version: "test"},
	}
	var ev *ledger.Entry
	if r.Status == evidence.RunSuccess {
		findings := r.Findings
		if findings == nil {
			findings = []evidence.Finding{{Target: "acme/api", Status: evidence.StatusPass, Summary: "ok"}}
		}
		raw, err := json.Marshal(map[string]any{"job": r.Job, "window": r.Window})
		if err != nil {
			b.t.Fatal(err)
		}
		scope := "github.com/acme"
		st := &evidence.Statement{Predicate: evidence.Predicate{
			Collector: col, Job: r.Job, Controls: r.Controls, Scope: scope, Targets: []string{"acme/api"},
			Window: r.Window, CollectedAt: r.FinishedAt.Add(-time.Second), Status: evidence.Overall(findings),
			Counts: evidence.CountByStatus(findings), Findings: findings, RawFacts: raw,
			Producer: evidence.Producer{Name: "changeproof", Version: "test"},
		}}
		chain := r.Collector + "\x00" + scope
		h, ok := b.evHeads[chain]
		if !ok {
			h.prev = evidence.Previous{First: true}
		}
		if ev, err = b.Ledger.AppendAfter(ctx, st, h.prev, h.at); err != nil {
			b.t.Fatal(err)
		}
		b.evHeads[chain] = head{prev: evidence.Previous{Key: ev.Key, SHA256: ev.SHA256}, at: st.Predicate.CollectedAt}
		rec.Evidence = []evidence.RunEvidence{{Key: ev.Key, SHA256: ev.SHA256, Status: st.Predicate.Status}}
	} else if rec.Error == "" {
		rec.Error = "the collection did not complete (" + string(r.Status) + ")"
	}
	h, ok := b.runHeads[r.Job]
	if !ok {
		h.prev = evidence.Previous{First: true}
	}
	run, err := b.Ledger.AppendRunAfter(ctx, rec, h.prev, h.at)
	if err != nil {
		b.t.Fatal(err)
	}
	b.runHeads[r.Job] = head{prev: evidence.Previous{Key: run.Key, SHA256: run.SHA256}, at: rec.FinishedAt}
	return ev, run
}

// Runs returns job's verified run records, oldest first.
func (b *Builder) Runs(t testing.TB, job string) []ledger.RunEntry {
	t.Helper()
	runs, err := b.Ledger.Runs(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// Mutate rewrites a stored object, as someone with write access to the
// disk or bucket could.
func (b *Builder) Mutate(key string, f func([]byte) []byte) {
	b.t.Helper()
	if m, ok := b.Store.(*Memory); ok {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.objs[key] = f(m.objs[key])
		return
	}
	p := filepath.Join(b.Dir, "evidence", filepath.FromSlash(key))
	data, err := os.ReadFile(p)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(p, f(data), 0o444); err != nil {
		b.t.Fatal(err)
	}
}

// Memory is a create-only in-memory store.
type Memory struct {
	mu   sync.Mutex
	objs map[string][]byte
}

var _ storage.Store = (*Memory)(nil)

// Put stores data under a free key.
func (m *Memory) Put(_ context.Context, key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs == nil {
		m.objs = map[string][]byte{}
	}
	if _, ok := m.objs[key]; ok {
		return &os.PathError{Op: "put", Path: key, Err: storage.ErrExists}
	}
	m.objs[key] = slices.Clone(data)
	return nil
}

// Get returns an object.
func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.objs[key]
	if !ok {
		return nil, &os.PathError{Op: "get", Path: key, Err: storage.ErrNotExist}
	}
	return slices.Clone(d), nil
}

// Stat describes an object.
func (m *Memory) Stat(_ context.Context, key string) (storage.ObjectInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.objs[key]
	if !ok {
		return storage.ObjectInfo{}, &os.PathError{Op: "stat", Path: key, Err: storage.ErrNotExist}
	}
	return storage.ObjectInfo{Key: key, Size: int64(len(d))}, nil
}

// List yields the objects under prefix in key order.
func (m *Memory) List(_ context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	m.mu.Lock()
	var keys []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	m.mu.Unlock()
	slices.Sort(keys)
	return func(yield func(storage.ObjectInfo, error) bool) {
		for _, k := range keys {
			if !yield(storage.ObjectInfo{Key: k}, nil) {
				return
			}
		}
	}
}

// Describe names the store.
func (m *Memory) Describe() storage.Description { return storage.Description{URL: "mem://test"} }
