package oscal_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/internal/oscal"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
)

var (
	cc81  = evidence.Control{Framework: "soc2", ID: "CC8.1", Title: "The entity authorizes ... changes."}
	a825  = evidence.Control{Framework: "iso27001", ID: "A.8.25", Title: "Secure development life cycle: rules ..."}
	a829  = evidence.Control{Framework: "iso27001", ID: "A.8.29", Title: "Security testing in development and acceptance: ..."}
	day   = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	month = schedules.Window{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
)

type env struct {
	t      *testing.T
	dir    string
	store  storage.Store
	ledger *ledger.Ledger
	ver    *evidence.Verifier
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := file.Open(context.Background(), "file://"+dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := evidence.NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dir: dir, store: st, ledger: &ledger.Ledger{Store: st, Signer: s}, ver: v}
}

// collect appends signed evidence of collector over the day starting at
// start, with one finding per status given.
func (e *env) collect(collector string, start time.Time, controls []evidence.Control, statuses ...evidence.Status) *ledger.Entry {
	e.t.Helper()
	var findings []evidence.Finding
	for i, s := range statuses {
		findings = append(findings, evidence.Finding{Target: "github.com/acme/api#" + string(rune('1'+i)), Status: s, Summary: "judged " + string(s)})
	}
	p := evidence.Predicate{
		Collector:   evidence.CollectorInfo{Name: collector, Version: "1.0.0"},
		Controls:    controls,
		Scope:       "github.com/acme/api",
		Targets:     []string{"github.com/acme/api@main"},
		Window:      schedules.Window{Start: start, End: start.Add(24 * time.Hour)},
		CollectedAt: start.Add(25 * time.Hour),
		Status:      evidence.Overall(findings),
		Counts:      evidence.CountByStatus(findings),
		Findings:    findings,
		RawFacts:    json.RawMessage(`{"collector":"` + collector + `","start":"` + start.Format(time.RFC3339) + `"}`),
		Producer:    evidence.Producer{Name: "changeproof", Version: "test"},
	}
	entry, err := e.ledger.Append(context.Background(), &evidence.Statement{Predicate: p})
	if err != nil {
		e.t.Fatal(err)
	}
	return entry
}

func (e *env) export(opts oscal.Options) (*oscal.Document, []byte) {
	e.t.Helper()
	if opts.Period.Start.IsZero() {
		opts.Period = month
	}
	opts.Now = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	opts.Version = "1.2.3"
	opts.Store = "file://evidence"
	doc, err := oscal.Export(context.Background(), e.store, e.ver, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := oscal.Marshal(doc)
	if err != nil {
		e.t.Fatal(err)
	}
	validate(e.t, out)
	return doc, out
}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// validate checks a document against NIST's OSCAL assessment-results JSON
// schema (testdata/README.md), formats asserted.
func validate(t *testing.T, out []byte) {
	t.Helper()
	schemaOnce.Do(func() {
		f, err := os.Open(filepath.Join("testdata", "oscal_assessment-results_schema.json"))
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if schemaErr = c.AddResource("oscal_assessment-results_schema.json", doc); schemaErr != nil {
			return
		}
		schema, schemaErr = c.Compile("oscal_assessment-results_schema.json")
	})
	if schemaErr != nil {
		t.Fatalf("OSCAL schema: %v", schemaErr)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Fatalf("output is not valid OSCAL assessment-results:\n%v\n%s", err, out)
	}
}

func findingFor(t *testing.T, doc *oscal.Document, controlID string) oscal.Finding {
	t.Helper()
	for _, f := range doc.AssessmentResults.Results[0].Findings {
		if f.Target.TargetID == controlID {
			return f
		}
	}
	t.Fatalf("no finding for %s", controlID)
	return oscal.Finding{}
}

func observation(t *testing.T, doc *oscal.Document, id string) oscal.Observation {
	t.Helper()
	for _, o := range doc.AssessmentResults.Results[0].Observations {
		if o.UUID == id {
			return o
		}
	}
	t.Fatalf("no observation %s", id)
	return oscal.Observation{}
}

func prop(ps []oscal.Property, name string) string {
	for _, p := range ps {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func TestSchemaRejectsWhatItShould(t *testing.T) {
	// The validator is worth something only if it refuses bad documents.
	e := newEnv(t)
	e.collect("merge-activity", day, []evidence.Control{cc81}, evidence.StatusPass)
	_, out := e.export(oscal.Options{})
	for name, mutate := range map[string]func(string) string{
		"bad uuid":  func(s string) string { return strings.Replace(s, `"uuid": "`, `"uuid": "x`, 1) },
		"bad state": func(s string) string { return strings.Replace(s, `"state": "satisfied"`, `"state": "pass"`, 1) },
		"no timezone": func(s string) string {
			return strings.Replace(s, `"last-modified": "2026-12-02T08:00:00Z"`, `"last-modified": "2026-12-02T08:00:00"`, 1)
		},
		"no import-ap":  func(s string) string { return strings.Replace(s, `"import-ap"`, `"import-plan"`, 1) },
		"bad control":   func(s string) string { return strings.Replace(s, `"control-id": "cc8.1"`, `"control-id": "cc 8.1"`, 1) },
		"empty methods": func(s string) string { return strings.Replace(s, `"TEST"`, ``, 1) },
	} {
		bad := mutate(string(out))
		if bad == string(out) {
			t.Fatalf("%s: mutation did not apply", name)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if schema.Validate(inst) == nil {
			t.Errorf("%s: the schema accepted an invalid document", name)
		}
	}
}

func TestPassingAndFailingControls(t *testing.T) {
	e := newEnv(t)
	ma := e.collect("merge-activity", day, []evidence.Control{cc81, a825}, evidence.StatusPass, evidence.StatusPass)
	ci := e.collect("ci-status", day, []evidence.Control{cc81, a829}, evidence.StatusPass, evidence.StatusFail)
	// Outside the period: must not count.
	e.collect("ci-status", month.End.Add(48*time.Hour), []evidence.Control{cc81, a829}, evidence.StatusPass)
	doc, _ := e.export(oscal.Options{})

	ar := doc.AssessmentResults
	if ar.Metadata.Version != "1.2.3" || ar.Metadata.OSCALVersion != oscal.OSCALVersion || ar.Metadata.LastModified != "2026-12-02T08:00:00Z" {
		t.Errorf("metadata = %+v", ar.Metadata)
	}
	r := ar.Results[0]
	if r.Start != "2026-11-01T00:00:00Z" || r.End != "2026-12-01T00:00:00Z" {
		t.Errorf("result period %s–%s", r.Start, r.End)
	}
	if len(r.Observations) != 2 {
		t.Fatalf("%d observations, want the 2 envelopes in the period", len(r.Observations))
	}
	var ids []string
	for _, s := range r.ReviewedControls.ControlSelections {
		for _, c := range s.IncludeControls {
			ids = append(ids, prop(s.Props, "framework")+":"+c.ControlID)
		}
	}
	if got := strings.Join(ids, " "); got != "iso27001:a.8.25 iso27001:a.8.29 soc2:cc8.1" {
		t.Errorf("reviewed controls = %s", got)
	}

	if f := findingFor(t, doc, "a.8.25"); f.Target.Status.State != "satisfied" || len(f.RelatedObservations) != 1 || prop(f.Props, "control") != "A.8.25" {
		t.Errorf("A.8.25 = %+v, want satisfied from one observation", f)
	}
	f := findingFor(t, doc, "a.8.29")
	if f.Target.Status.State != "not-satisfied" || f.Target.Status.Reason != "fail" || !strings.Contains(f.Remarks, "1 evidence envelope(s) with status fail") {
		t.Errorf("A.8.29 = %+v, want not-satisfied for the failing evidence", f)
	}
	if f := findingFor(t, doc, "cc8.1"); f.Target.Status.State != "not-satisfied" || len(f.RelatedObservations) != 2 || f.Target.Type != "objective-id" {
		t.Errorf("CC8.1 = %+v, want not-satisfied from both observations", f)
	}

	o := observation(t, doc, findingFor(t, doc, "a.8.29").RelatedObservations[0].ObservationUUID)
	ev := o.RelevantEvidence[0]
	if ev.Href != ci.Key || prop(ev.Props, "envelope-sha256") != ci.SHA256 || prop(ev.Props, "raw-facts-sha256") != strings.TrimSuffix(strings.TrimPrefix(ci.RawKey, "raw/"), ".json") {
		t.Errorf("relevant evidence = %+v, want %s", ev, ci.Key)
	}
	if o.Collected != ci.Statement.Predicate.CollectedAt.Format(time.RFC3339) || o.Methods[0] != "TEST" || !strings.Contains(o.Description, "status fail") {
		t.Errorf("observation = %+v", o)
	}
	if len(o.Subjects) != 1 || o.Subjects[0].Title != "github.com/acme/api@main" {
		t.Errorf("subjects = %+v", o.Subjects)
	}
	_ = ma
}

func TestTamperedEnvelopeIsNotSatisfied(t *testing.T) {
	e := newEnv(t)
	e.collect("merge-activity", day, []evidence.Control{cc81, a825}, evidence.StatusPass)
	bad := e.collect("merge-activity", day.Add(24*time.Hour), []evidence.Control{cc81, a825}, evidence.StatusPass)
	// An attacker with disk access rewrites the envelope.
	p := filepath.Join(e.dir, filepath.FromSlash(bad.Key))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bytes.Replace(data, []byte(`"payload": "`), []byte(`"payload": "A`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, _ := e.export(oscal.Options{})
	for _, id := range []string{"cc8.1", "a.8.25"} {
		f := findingFor(t, doc, id)
		if f.Target.Status.State != "not-satisfied" || !strings.Contains(f.Remarks, bad.Key) || !strings.Contains(f.Remarks, "modified") {
			t.Errorf("%s = %+v, want not-satisfied naming the tampered envelope", id, f)
		}
		var problem *oscal.Observation
		for _, r := range f.RelatedObservations {
			o := observation(t, doc, r.ObservationUUID)
			if prop(o.Props, "problem") != "" {
				problem = &o
			}
		}
		if problem == nil || problem.RelevantEvidence[0].Href != bad.Key || !strings.HasPrefix(problem.Description, "Unverifiable: ") || problem.Types[0] != "finding" {
			t.Errorf("%s: the tampered envelope is not an unverifiable observation: %+v", id, problem)
		}
	}
	// Only the intact envelope counts as evidence.
	n := 0
	for _, o := range doc.AssessmentResults.Results[0].Observations {
		if prop(o.Props, "problem") == "" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d verified observations, want 1", n)
	}
}

func TestMissedRunAndExpectedControlsWithoutEvidence(t *testing.T) {
	e := newEnv(t)
	e.collect("merge-activity", day, []evidence.Control{cc81}, evidence.StatusPass)
	missed := &evidence.RunRecord{
		Job: "ci-daily", Collector: evidence.CollectorInfo{Name: "ci-status", Version: "1.0.0"},
		Trigger: evidence.TriggerCatchUp, Window: schedules.Window{Start: day, End: day.Add(72 * time.Hour)},
		StartedAt: day.Add(80 * time.Hour), FinishedAt: day.Add(80 * time.Hour),
		Status: evidence.RunMissed, Error: "more windows were due than max_catch_up",
		Producer: evidence.Producer{Name: "changeproof", Version: "test"},
	}
	if _, err := e.ledger.AppendRun(context.Background(), missed); err != nil {
		t.Fatal(err)
	}
	controlsOf := func(job, collector string) []evidence.Control {
		if collector == "ci-status" {
			return []evidence.Control{cc81, a829}
		}
		return nil
	}
	doc, _ := e.export(oscal.Options{ControlsOf: controlsOf, Expected: []evidence.Control{cc81, a825}})
	if f := findingFor(t, doc, "cc8.1"); f.Target.Status.State != "not-satisfied" || !strings.Contains(f.Remarks, "missed") {
		t.Errorf("CC8.1 = %+v, want not-satisfied for the missed run", f)
	}
	if f := findingFor(t, doc, "a.8.29"); f.Target.Status.State != "not-satisfied" || !strings.Contains(f.Remarks, "no verified evidence") {
		t.Errorf("A.8.29 = %+v", f)
	}
	if f := findingFor(t, doc, "a.8.25"); f.Target.Status.State != "not-satisfied" || f.Remarks != "no verified evidence in the period" || f.RelatedObservations != nil {
		t.Errorf("A.8.25 (expected, no evidence) = %+v", f)
	}

	// --control limits the document to the control asked for.
	doc, _ = e.export(oscal.Options{ControlsOf: controlsOf, Controls: []evidence.Control{a829}})
	fs := doc.AssessmentResults.Results[0].Findings
	if len(fs) != 1 || fs[0].Target.TargetID != "a.8.29" {
		t.Errorf("findings with --control A.8.29 = %+v", fs)
	}
}

func TestSameStoreAndPeriodGiveTheSameBytes(t *testing.T) {
	e := newEnv(t)
	e.collect("merge-activity", day, []evidence.Control{cc81, a825}, evidence.StatusPass)
	e.collect("ci-status", day, []evidence.Control{cc81, a829}, evidence.StatusNotVerifiable)
	doc, first := e.export(oscal.Options{})
	_, second := e.export(oscal.Options{})
	if !bytes.Equal(first, second) {
		t.Fatal("two exports of the same store and period differ")
	}
	u, err := uuid.Parse(doc.AssessmentResults.UUID)
	if err != nil || u.Version() != 5 {
		t.Errorf("document uuid %s is not a UUIDv5", doc.AssessmentResults.UUID)
	}
	// Another period is another document.
	other, _ := e.export(oscal.Options{Period: schedules.Window{Start: month.Start, End: month.End.Add(-time.Hour)}})
	if other.AssessmentResults.UUID == doc.AssessmentResults.UUID {
		t.Error("two periods share a document uuid")
	}
	if f := findingFor(t, doc, "a.8.29"); f.Target.Status.State != "not-satisfied" || f.Target.Status.Reason != "other" {
		t.Errorf("not_verifiable evidence gave %+v, want not-satisfied", f.Target.Status)
	}
}

func TestNothingToReport(t *testing.T) {
	e := newEnv(t)
	_, err := oscal.Export(context.Background(), e.store, e.ver, oscal.Options{Period: month, Store: "file://x"})
	if err == nil || !strings.Contains(err.Error(), "nothing to report") {
		t.Fatalf("err = %v", err)
	}
}
