package pipeline_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/pipeline"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
)

// scripted is a collector whose result the test decides; the pipeline, the
// ledger and the store under it are real.
type scripted struct {
	res *collectors.Result
	err error
}

func (s *scripted) Name() string                      { return "branch-protection" }
func (s *scripted) Version() string                   { return "test" }
func (s *scripted) NewPolicy() any                    { return map[string]int{"min_approvals": 1} }
func (s *scripted) Validate(collectors.Request) error { return nil }
func (s *scripted) Collect(ctx context.Context, _ collectors.Request) (*collectors.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.res, s.err
}

type fixture struct {
	store  storage.Store
	runner *pipeline.Runner
	ver    *evidence.Verifier
}

func newFixture(t *testing.T) *fixture {
	st, err := file.Open(context.Background(), t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := evidence.NewSigner(priv)
	ver, _ := evidence.NewVerifier(pub)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	return &fixture{store: st, ver: ver, runner: &pipeline.Runner{
		Ledger:   &ledger.Ledger{Store: st, Signer: signer},
		Catalog:  controls.Default(),
		Producer: evidence.Producer{Name: "changeproof", Version: "test"},
		Now:      func() time.Time { now = now.Add(time.Minute); return now },
		Logger:   slog.New(slog.DiscardHandler),
	}}
}

func request() collectors.Request {
	return collectors.Request{
		Scope:  collectors.Scope{Orgs: []string{"acme"}},
		Window: schedules.Window{Start: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
		Policy: map[string]int{"min_approvals": 2},
	}
}

func (f *fixture) verified(t *testing.T) *ledger.Report {
	t.Helper()
	rep, err := ledger.Verify(context.Background(), f.store, f.ver, ledger.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("written evidence does not verify: %v", rep.Problems)
	}
	return rep
}

func TestRunWritesJudgedEvidence(t *testing.T) {
	f := newFixture(t)
	c := &scripted{res: &collectors.Result{
		Targets: []string{"github.com/acme/a@main", "github.com/acme/b@main"},
		Facts:   map[string]string{"a": "protected", "b": "unprotected"},
		Findings: []evidence.Finding{
			{Target: "github.com/acme/a@main", Status: evidence.StatusPass},
			{Target: "github.com/acme/b@main", Status: evidence.StatusFail},
		},
	}}
	out, err := f.runner.Run(context.Background(), c, request())
	if err != nil || out.CollectErr != nil {
		t.Fatal(err, out.CollectErr)
	}
	p := out.Entry.Statement.Predicate
	if p.Status != evidence.StatusFail || p.Counts[evidence.StatusPass] != 1 || p.Counts[evidence.StatusFail] != 1 {
		t.Fatalf("status %s counts %v", p.Status, p.Counts)
	}
	if p.Scope != "github.com/acme" || p.Collector.Name != "branch-protection" || len(p.Controls) == 0 || p.Controls[0].ID != "CC8.1" {
		t.Fatalf("predicate header = %+v", p)
	}
	if string(p.Policy) != `{"min_approvals":2}` {
		t.Fatalf("policy recorded = %s", p.Policy)
	}
	if string(p.RawFacts) != `{"a":"protected","b":"unprotected"}` {
		t.Fatalf("raw facts = %s", p.RawFacts)
	}
	f.verified(t)
}

func TestFailedCollectionIsSignedErrorEvidence(t *testing.T) {
	f := newFixture(t)
	c := &scripted{err: errors.New("listing repositories of org acme: dial tcp 127.0.0.1:1: connection refused")}
	out, err := f.runner.Run(context.Background(), c, request())
	if err != nil {
		t.Fatal(err)
	}
	if out.CollectErr == nil || out.Entry == nil {
		t.Fatal("a failed collection must return its error and still write evidence")
	}
	p := out.Entry.Statement.Predicate
	if p.Status != evidence.StatusError || !strings.Contains(p.Reason, "connection refused") {
		t.Fatalf("status %s reason %q", p.Status, p.Reason)
	}
	if !strings.Contains(string(p.RawFacts), "connection refused") {
		t.Fatalf("raw facts do not record the failure: %s", p.RawFacts)
	}
	f.verified(t)
}

func TestIncompleteCollectionIsError(t *testing.T) {
	f := newFixture(t)
	c := &scripted{res: &collectors.Result{
		Facts:      []int{1},
		Findings:   []evidence.Finding{{Target: "github.com/acme/a@main", Status: evidence.StatusPass}},
		Incomplete: "acme/b: 502 Bad Gateway after 4 retries",
	}}
	out, err := f.runner.Run(context.Background(), c, request())
	if err != nil {
		t.Fatal(err)
	}
	p := out.Entry.Statement.Predicate
	if p.Status != evidence.StatusError || !strings.Contains(p.Reason, "acme/b") || out.CollectErr == nil {
		t.Fatalf("partial collection recorded as %s (%q)", p.Status, p.Reason)
	}
	if p.Counts[evidence.StatusPass] != 1 {
		t.Fatalf("findings of a partial collection must be kept: %v", p.Counts)
	}
}

// A finding the collector could not judge (an inconsistency of its own,
// with no incompleteness reported) still makes evidence that verifies: an
// error, saying which findings.
func TestErrorFindingGivesTheReason(t *testing.T) {
	f := newFixture(t)
	c := &scripted{res: &collectors.Result{
		Facts: []int{1},
		Findings: []evidence.Finding{
			{Target: "github.com/acme/a@main", Status: evidence.StatusPass},
			{Target: "github.com/acme/b@main", Status: evidence.StatusError, Summary: "not judged: unknown rule"},
		},
	}}
	out, err := f.runner.Run(context.Background(), c, request())
	if err != nil {
		t.Fatal(err)
	}
	p := out.Entry.Statement.Predicate
	if p.Status != evidence.StatusError || p.Reason != "1 finding could not be judged: github.com/acme/b@main" || out.CollectErr == nil {
		t.Fatalf("recorded as %s (%q), CollectErr %v", p.Status, p.Reason, out.CollectErr)
	}
	f.verified(t)
}

// Data a collector could not obtain is a not_verifiable finding; the
// incompleteness it reports makes the evidence an error with the reason,
// the finding counted as not_verifiable.
func TestUnobtainableDataIsNotVerifiableInErrorEvidence(t *testing.T) {
	f := newFixture(t)
	c := &scripted{res: &collectors.Result{
		Facts: []int{1},
		Findings: []evidence.Finding{
			{Target: "github.com/acme/a@main", Status: evidence.StatusPass},
			{Target: "github.com/acme/b@main", Status: evidence.StatusNotVerifiable, Summary: "could not be checked: GET /repos/acme/b/branches/main/protection: HTTP 502 Bad Gateway"},
		},
		Incomplete: "1 of 2 branches could not be collected: acme/b@main",
	}}
	out, err := f.runner.Run(context.Background(), c, request())
	if err != nil {
		t.Fatal(err)
	}
	p := out.Entry.Statement.Predicate
	if p.Status != evidence.StatusError || p.Reason != "incomplete: 1 of 2 branches could not be collected: acme/b@main" {
		t.Fatalf("recorded as %s (%q)", p.Status, p.Reason)
	}
	if p.Counts[evidence.StatusNotVerifiable] != 1 || p.Counts[evidence.StatusError] != 0 {
		t.Fatalf("counts = %v", p.Counts)
	}
	f.verified(t)
}

func TestNoFindingsIsNotVerifiable(t *testing.T) {
	f := newFixture(t)
	out, err := f.runner.Run(context.Background(), &scripted{res: &collectors.Result{Facts: map[string]any{}}}, request())
	if err != nil {
		t.Fatal(err)
	}
	if s := out.Entry.Statement.Predicate.Status; s != evidence.StatusNotVerifiable {
		t.Fatalf("an empty population was judged %s; nothing checked is never pass", s)
	}
}

func TestCancelledRunIsStillRecorded(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := f.runner.Run(ctx, &scripted{res: &collectors.Result{Facts: 1}}, request())
	if err != nil {
		t.Fatal(err)
	}
	if out.Entry.Statement.Predicate.Status != evidence.StatusError || !strings.Contains(out.Entry.Statement.Predicate.Reason, "canceled") {
		t.Fatalf("cancelled run recorded as %+v", out.Entry.Statement.Predicate)
	}
	f.verified(t)
}

func TestUnmappedCollectorWritesNothing(t *testing.T) {
	f := newFixture(t)
	f.runner.Catalog, _ = controls.Default().Apply(controls.Override{})
	c := &renamed{scripted: scripted{res: &collectors.Result{Facts: 1}}}
	if _, err := f.runner.Run(context.Background(), c, request()); err == nil {
		t.Fatal("a collector without controls must be refused")
	}
	for obj, err := range f.store.List(context.Background(), "") {
		t.Fatalf("something was written: %v %v", obj.Key, err)
	}
}

type renamed struct{ scripted }

func (r *renamed) Name() string { return "not-in-catalog" }
