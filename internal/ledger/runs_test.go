package ledger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

// record is a run of job over the hour up to the env's clock, which it
// advances, naming the given evidence; a run that did not succeed says why.
func (e *env) record(job string, status evidence.RunStatus, trigger string, evs ...*ledger.Entry) *evidence.RunRecord {
	e.now = e.now.Add(time.Hour)
	rec := &evidence.RunRecord{
		Job:        job,
		Collector:  evidence.CollectorInfo{Name: "branch-protection", Version: "1.0.0"},
		Schedule:   "0 * * * *",
		TimeZone:   "UTC",
		Trigger:    trigger,
		Window:     schedules.Window{Start: e.now.Add(-time.Hour), End: e.now},
		StartedAt:  e.now,
		FinishedAt: e.now.Add(90 * time.Second),
		Status:     status,
		Producer:   evidence.Producer{Name: "changeproof", Version: "test"},
	}
	if start, ok := e.windowEnd[job]; ok && trigger != evidence.TriggerManual {
		rec.Window.Start = start
	}
	if trigger != evidence.TriggerManual && status != evidence.RunInterrupted {
		if e.windowEnd == nil {
			e.windowEnd = map[string]time.Time{}
		}
		e.windowEnd[job] = rec.Window.End
	}
	if status != evidence.RunSuccess {
		rec.Error = "collection of " + job + " did not complete: " + string(status)
	}
	for _, en := range evs {
		rec.Evidence = append(rec.Evidence, evidence.RunEvidence{Key: en.Key, SHA256: en.SHA256, Status: en.Statement.Predicate.Status})
	}
	return rec
}

func (e *env) appendRun(rec *evidence.RunRecord) *ledger.RunEntry {
	e.t.Helper()
	entry, err := e.ledger.AppendRun(context.Background(), rec)
	if err != nil {
		e.t.Fatal(err)
	}
	return entry
}

// success appends a collection and the successful run that wrote it.
func (e *env) success(job string) (*ledger.Entry, *ledger.RunEntry) {
	e.t.Helper()
	ev := e.append("branch-protection", "github.com/"+job, map[string]string{"job": job, "at": e.now.String()})
	return ev, e.appendRun(e.record(job, evidence.RunSuccess, evidence.TriggerSchedule, ev))
}

func TestAppendRunChainsPerJob(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ev1, a1 := e.success("nightly")
	b1 := e.appendRun(e.record("hourly", evidence.RunError, evidence.TriggerSchedule))
	a2 := e.appendRun(e.record("nightly", evidence.RunError, evidence.TriggerSchedule))
	_, b2 := e.success("hourly")
	a3 := e.appendRun(e.record("nightly", evidence.RunMissed, evidence.TriggerCatchUp))

	for _, c := range []struct {
		name       string
		got, after *ledger.RunEntry
	}{{"nightly 2", a2, a1}, {"nightly 3", a3, a2}, {"hourly 2", b2, b1}} {
		if p := c.got.Statement.Predicate.Previous; p.First || p.Key != c.after.Key || p.SHA256 != c.after.SHA256 {
			t.Errorf("%s: previous = %+v, want %s", c.name, p, c.after.Key)
		}
	}
	for _, first := range []*ledger.RunEntry{a1, b1} {
		if p := first.Statement.Predicate.Previous; !p.First || p.SHA256 != "" {
			t.Errorf("%s: previous = %+v, want the start of its job's chain", first.Key, p)
		}
	}
	// The key names the job, the finishing time and the file's digest; the
	// subject names the evidence the run wrote.
	data, err := os.ReadFile(e.path(a1.Key))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ledger.RunKey("nightly", a1.Statement.Predicate.FinishedAt, evidence.Digest(data))
	if err != nil || a1.Key != want || a1.SHA256 != evidence.Digest(data) {
		t.Fatalf("key %s, sha256 %s; want %s, %s (%v)", a1.Key, a1.SHA256, want, evidence.Digest(data), err)
	}
	sub := a1.Statement.Subject
	if len(sub) != 1 || sub[0].Name != ev1.Key || sub[0].Digest["sha256"] != ev1.SHA256 {
		t.Fatalf("subject %+v, want the envelope %s", sub, ev1.Key)
	}
	if len(a2.Statement.Subject) != 0 || a2.Statement.Subject == nil {
		t.Fatalf("a run without evidence has subject %#v, want an empty list", a2.Statement.Subject)
	}
	if _, err := e.store.Get(ctx, ledger.PublicKeyKey(e.ledger.Signer.KeyID())); err != nil {
		t.Fatalf("public key not stored: %v", err)
	}

	runs, err := e.ledger.Runs(ctx, "nightly")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 || runs[0].Key != a1.Key || runs[1].Key != a2.Key || runs[2].Key != a3.Key {
		t.Fatalf("Runs(nightly) = %v, want %s, %s, %s", runKeys(runs), a1.Key, a2.Key, a3.Key)
	}
	if runs[2].SHA256 != a3.SHA256 || runs[2].Statement.Predicate.Status != evidence.RunMissed {
		t.Fatalf("Runs(nightly)[2] = %+v", runs[2])
	}
	if hourly, err := e.ledger.Runs(ctx, "hourly"); err != nil || len(hourly) != 2 {
		t.Fatalf("Runs(hourly) = %v, %v", runKeys(hourly), err)
	}
	if none, err := e.ledger.Runs(ctx, "never-ran"); err != nil || len(none) != 0 {
		t.Fatalf("Runs of a job without records = %v, %v", runKeys(none), err)
	}
}

func runKeys(rs []ledger.RunEntry) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Key)
	}
	return out
}

func TestAppendRunRefusesAClockThatWentBackwards(t *testing.T) {
	e := newEnv(t)
	head := e.appendRun(e.record("nightly", evidence.RunError, evidence.TriggerSchedule))
	for name, finished := range map[string]time.Time{
		"same time": head.Statement.Predicate.FinishedAt,
		"earlier":   head.Statement.Predicate.FinishedAt.Add(-time.Hour),
	} {
		rec := e.record("nightly", evidence.RunError, evidence.TriggerSchedule)
		rec.StartedAt, rec.FinishedAt = finished.Add(-time.Minute), finished
		_, err := e.ledger.AppendRun(context.Background(), rec)
		if err == nil || !strings.Contains(err.Error(), "clock went backwards") || !strings.Contains(err.Error(), head.Key) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// Another job's chain is not held back by this one's head.
	other := e.record("other", evidence.RunError, evidence.TriggerSchedule)
	other.StartedAt, other.FinishedAt = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 1, 0, 1, 0, 0, time.UTC)
	if _, err := e.ledger.AppendRun(context.Background(), other); err != nil {
		t.Fatalf("another job: %v", err)
	}
}

func TestRunJobNamesAreKeySegments(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	d := strings.Repeat("ab", 32)
	at := time.Date(2026, 11, 23, 9, 8, 7, 6, time.UTC)
	for _, job := range []string{"", "Nightly", "-x", ".x", "_x", "a/b", "a b", "..", "a\x00", "a\n", "é", strings.Repeat("a", 64)} {
		if _, err := ledger.RunKey(job, at, d); err == nil {
			t.Errorf("RunKey accepted job %q", job)
		}
		if _, err := e.ledger.AppendRun(ctx, e.record(job, evidence.RunError, evidence.TriggerSchedule)); err == nil || !strings.Contains(err.Error(), "job name") {
			t.Errorf("AppendRun of job %q: err = %v", job, err)
		}
		if _, err := e.ledger.LastWindowEnd(ctx, job); err == nil {
			t.Errorf("LastWindowEnd accepted job %q", job)
		}
	}
	if got := keys(t, e.store, ledger.RunsPrefix); len(got) != 0 {
		t.Fatalf("refused jobs left records: %v", got)
	}
	for _, job := range []string{"a", "0", "acme.nightly_v2-eu", strings.Repeat("a", 63)} {
		if _, err := ledger.RunKey(job, at, d); err != nil {
			t.Errorf("RunKey refused job %q: %v", job, err)
		}
	}
	if _, err := ledger.RunKey("a", at, "ABC"); err == nil {
		t.Error("RunKey accepted a digest that is not sha256 hex")
	}
}

func keys(t *testing.T, st storage.Store, prefix string) []string {
	t.Helper()
	var out []string
	for obj, err := range st.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj.Key)
	}
	return out
}

func TestParseRunKey(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 8, 7, 6, time.UTC)
	d := strings.Repeat("ab", 32)
	key, err := ledger.RunKey("acme.nightly", at.In(time.FixedZone("CET", 3600)), d)
	if err != nil {
		t.Fatal(err)
	}
	want := "runs/acme.nightly/2026/11/23/20261123T090807.000000006Z-" + d + ".json"
	if key != want {
		t.Fatalf("key = %s, want %s", key, want)
	}
	pk, err := ledger.ParseRunKey(key)
	if err != nil || pk.Job != "acme.nightly" || !pk.FinishedAt.Equal(at) || pk.Digest != d {
		t.Fatalf("parsed %+v, %v", pk, err)
	}
	for name, bad := range map[string]string{
		"date folders disagree": strings.Replace(key, "/23/", "/24/", 1),
		"bad job":               strings.Replace(key, "acme.nightly", "Acme", 1),
		"short digest":          strings.Replace(key, d, d[:60], 1),
		"evidence key":          ledger.EvidenceKey("branch-protection", "github.com/acme", at, d),
		"extra folder":          strings.Replace(key, "runs/", "runs/x/", 1),
	} {
		if _, err := ledger.ParseRunKey(bad); err == nil {
			t.Errorf("%s: %s parsed", name, bad)
		}
	}
}

func TestSplitStorePath(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 8, 7, 6, time.UTC)
	d := strings.Repeat("ab", 32)
	run, _ := ledger.RunKey("evidence", at, d) // a job named like the evidence folder
	ev := ledger.EvidenceKey("runs", "github.com/acme", at, d)
	for _, key := range []string{run, ev} {
		dir, got, ok := ledger.SplitStorePath("/srv/runs/store/" + key)
		if !ok || dir != "/srv/runs/store" || got != key {
			t.Errorf("SplitStorePath(.../%s) = %q, %q, %v", key, dir, got, ok)
		}
	}
	for _, p := range []string{"/srv/store/raw/" + d + ".json", run, "/srv/store/" + strings.Replace(run, "/23/", "/24/", 1)} {
		if dir, key, ok := ledger.SplitStorePath(p); ok {
			t.Errorf("SplitStorePath(%s) = %q, %q, want not a stored file", p, dir, key)
		}
	}
}

func TestLastWindowEnd(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	last := func() time.Time {
		t.Helper()
		end, err := e.ledger.LastWindowEnd(ctx, "nightly")
		if err != nil {
			t.Fatal(err)
		}
		return end
	}
	if end := last(); !end.IsZero() {
		t.Fatalf("no records: LastWindowEnd = %s, want zero", end)
	}
	_, ok := e.success("nightly")
	if end := last(); !end.Equal(ok.Statement.Predicate.Window.End) {
		t.Fatalf("after a success: %s, want %s", end, ok.Statement.Predicate.Window.End)
	}
	failed := e.appendRun(e.record("nightly", evidence.RunError, evidence.TriggerSchedule))
	if end := last(); !end.Equal(failed.Statement.Predicate.Window.End) {
		t.Fatalf("after an error: %s, want %s (a failed run's window is dealt with)", end, failed.Statement.Predicate.Window.End)
	}
	missed := e.appendRun(e.record("nightly", evidence.RunMissed, evidence.TriggerCatchUp))
	want := missed.Statement.Predicate.Window.End
	if end := last(); !end.Equal(want) {
		t.Fatalf("after a missed window: %s, want %s", end, want)
	}
	e.appendRun(e.record("nightly", evidence.RunInterrupted, evidence.TriggerSchedule))
	if end := last(); !end.Equal(want) {
		t.Fatalf("after an interrupted run: %s, want %s (its window is collected again)", end, want)
	}
	manual, _ := e.success("scratch")
	rec := e.record("nightly", evidence.RunSuccess, evidence.TriggerManual, manual)
	rec.Window.End = rec.Window.End.Add(72 * time.Hour)
	e.appendRun(rec)
	if end := last(); !end.Equal(want) {
		t.Fatalf("after a manual run: %s, want %s (manual runs are not the schedule's)", end, want)
	}
	// Another job's records never count.
	e.appendRun(e.record("nightly-eu", evidence.RunError, evidence.TriggerSchedule))
	if end := last(); !end.Equal(want) {
		t.Fatalf("after another job's run: %s, want %s", end, want)
	}

	// A record planted at a valid, newer key without a valid signature, and
	// one signed by another key, are passed over.
	planted := []byte("{\"payloadType\": \"application/vnd.in-toto+json\", \"payload\": \"e30=\", \"signatures\": []}\n")
	plantedKey, err := ledger.RunKey("nightly", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), evidence.Digest(planted))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Put(ctx, plantedKey, planted); err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, err := evidence.NewSigner(otherPriv)
	if err != nil {
		t.Fatal(err)
	}
	foreign := e.record("nightly", evidence.RunMissed, evidence.TriggerSchedule)
	foreign.Window.End = foreign.Window.End.Add(1000 * time.Hour)
	other := &ledger.Ledger{Store: e.store, Signer: otherSigner}
	// Another key finds records but none it can verify: it refuses to
	// start a second chain, or to forget the windows collected.
	if _, err := other.AppendRun(ctx, foreign); !errors.Is(err, ledger.ErrUnverifiableRuns) {
		t.Fatalf("AppendRun with another key: %v, want ErrUnverifiableRuns", err)
	}
	if _, err := other.LastWindowEnd(ctx, "nightly"); !errors.Is(err, ledger.ErrUnverifiableRuns) || !strings.Contains(err.Error(), "if the signing key was changed") {
		t.Fatalf("LastWindowEnd with another key: %v", err)
	}
	if _, err := other.AppendRunAfter(ctx, foreign, evidence.Previous{First: true}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if end := last(); !end.Equal(want) {
		t.Fatalf("after a planted and a foreign record: %s, want %s", end, want)
	}
	// The next genuine record chains onto the last genuine one.
	head, _, err := e.ledger.RunHead(ctx, "nightly")
	if err != nil {
		t.Fatal(err)
	}
	next := e.appendRun(e.record("nightly", evidence.RunError, evidence.TriggerSchedule))
	if next.Statement.Predicate.Previous != head || head.First {
		t.Fatalf("next record chained to %+v, want the genuine head %+v", next.Statement.Predicate.Previous, head)
	}
}

func TestVerifyStoreWithRunRecords(t *testing.T) {
	e := newEnv(t)
	e.success("nightly")
	e.appendRun(e.record("nightly", evidence.RunError, evidence.TriggerSchedule))
	_, last := e.success("nightly")
	_, hourly := e.success("hourly")
	rep := e.verify()
	if !rep.OK() || !rep.ChainsChecked {
		t.Fatalf("report not OK: %v", rep.Problems)
	}
	if rep.Envelopes != 3 || rep.Verified != 3 || rep.Chains != 2 {
		t.Fatalf("evidence counts: %+v", rep)
	}
	if rep.Runs != 4 || rep.RunsVerified != 4 || rep.RunChains != 2 || len(rep.RunHeads) != 2 {
		t.Fatalf("run counts: runs %d, verified %d, chains %d, heads %+v", rep.Runs, rep.RunsVerified, rep.RunChains, rep.RunHeads)
	}
	heads := map[string]ledger.RunHead{}
	for _, h := range rep.RunHeads {
		heads[h.Job] = h
	}
	for _, want := range []struct {
		entry   *ledger.RunEntry
		records int
	}{{last, 3}, {hourly, 1}} {
		h := heads[want.entry.Statement.Predicate.Job]
		if h.Head != want.entry.Key || h.HeadSHA256 != want.entry.SHA256 || h.Records != want.records || !h.FinishedAt.Equal(want.entry.Statement.Predicate.FinishedAt) {
			t.Errorf("head of %s = %+v, want %s with %d records", want.entry.Statement.Predicate.Job, h, want.entry.Key, want.records)
		}
	}
}

func TestVerifyOneRunRecord(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, a := e.success("nightly")
	b := e.appendRun(e.record("nightly", evidence.RunError, evidence.TriggerSchedule))
	// A single file out of a store, as `verify FILE` does it.
	rep, err := ledger.Verify(ctx, e.store, e.ver, ledger.VerifyOptions{Prefix: b.Key, SkipChains: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Runs != 1 || rep.RunsVerified != 1 || rep.Envelopes != 0 {
		t.Fatalf("single run record: %+v", rep)
	}
	// One job's records, with their chain.
	rep, err = ledger.Verify(ctx, e.store, e.ver, ledger.VerifyOptions{Prefix: ledger.RunPrefix("nightly")})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Runs != 2 || rep.RunChains != 1 || rep.RunHeads[0].Head != b.Key {
		t.Fatalf("one job: %+v", rep)
	}
	// An evidence prefix verifies evidence only, as before run records.
	rep, err = ledger.Verify(ctx, e.store, e.ver, ledger.VerifyOptions{Prefix: ledger.EvidencePrefix})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Runs != 0 || rep.Envelopes != 1 {
		t.Fatalf("evidence prefix: %+v", rep)
	}
	rep, err = ledger.Verify(ctx, e.store, e.ver, ledger.VerifyOptions{Prefix: ledger.RunPrefix("nobody")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || !problemFor(rep, ledger.RunPrefix("nobody"), "no run records found") {
		t.Fatalf("a prefix without records: %+v", rep)
	}
	// A genuine record under another job's key is not that job's record.
	data, err := os.ReadFile(e.path(a.Key))
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(a.Key, "runs/nightly/", "runs/weekly/", 1)
	if err := e.store.Put(ctx, moved, data); err != nil {
		t.Fatal(err)
	}
	if rep := e.verify(); !problemFor(rep, moved, `stored under job "weekly"`) {
		t.Fatalf("record under another job's key not reported: %v", rep.Problems)
	}
}

func TestVerifyRunRecordsWithoutEvidenceIsNotOK(t *testing.T) {
	e := newEnv(t)
	e.appendRun(e.record("nightly", evidence.RunError, evidence.TriggerSchedule))
	rep := e.verify()
	if rep.OK() || !problemFor(rep, ledger.EvidencePrefix, "no evidence envelopes found") || rep.Runs != 1 || rep.RunsVerified != 1 {
		t.Fatalf("report %+v", rep)
	}
}

func TestVerifyDetectsDeletedRunRecord(t *testing.T) {
	e := newEnv(t)
	e.success("nightly")
	b := e.appendRun(e.record("nightly", evidence.RunError, evidence.TriggerSchedule))
	_, c := e.success("nightly")
	if err := os.Remove(e.path(b.Key)); err != nil {
		t.Fatal(err)
	}
	rep := e.verify()
	if rep.OK() || !problemFor(rep, c.Key, "chain broken: previous run record "+b.Key) || !problemFor(rep, c.Key, "deleted") {
		t.Fatalf("deleted run record not reported on its successor: %v", rep.Problems)
	}
	// The window it accounted for is now a gap too.
	if !problemFor(rep, c.Key, "leaves a gap") || rep.Runs != 2 || rep.RunsVerified != 2 || len(rep.Problems) != 2 {
		t.Fatalf("report %+v", rep)
	}
}

func TestVerifyDetectsGapsAndOverlapsBetweenWindows(t *testing.T) {
	e := newEnv(t)
	e.success("nightly")
	// A manual run of any window, and an interrupted run, do not count.
	manual := e.record("nightly", evidence.RunError, evidence.TriggerManual)
	manual.Window.Start = manual.Window.Start.Add(-240 * time.Hour)
	e.appendRun(manual)
	e.appendRun(e.record("nightly", evidence.RunInterrupted, evidence.TriggerSchedule))
	e.success("nightly")
	if rep := e.verify(); !rep.OK() {
		t.Fatalf("contiguous windows reported: %v", rep.Problems)
	}
	gap := e.record("nightly", evidence.RunError, evidence.TriggerSchedule)
	gap.Window.Start = gap.Window.Start.Add(30 * time.Minute)
	gapEntry := e.appendRun(gap)
	over := e.record("nightly", evidence.RunError, evidence.TriggerCatchUp)
	over.Window.Start = over.Window.Start.Add(-30 * time.Minute)
	overEntry := e.appendRun(over)
	rep := e.verify()
	if !problemFor(rep, gapEntry.Key, "leaves a gap") || !problemFor(rep, overEntry.Key, "overlaps the window") || len(rep.Problems) != 2 {
		t.Fatalf("problems: %v", rep.Problems)
	}
}

func TestVerifyDetectsRunEvidenceMissingOrModified(t *testing.T) {
	e := newEnv(t)
	gone, a := e.success("nightly")
	changed, b := e.success("hourly")
	if err := os.Remove(e.path(gone.Key)); err != nil {
		t.Fatal(err)
	}
	e.mutate(changed.Key, func(d []byte) []byte { return append(d, '\n') })
	rep := e.verify()
	if !problemFor(rep, a.Key, "run record names evidence "+gone.Key+" that is not in the store") {
		t.Errorf("missing evidence not reported on the run record: %v", rep.Problems)
	}
	if !problemFor(rep, b.Key, "run record names evidence "+changed.Key+" with sha256 "+changed.SHA256+", but the stored file's sha256 is ") {
		t.Errorf("modified evidence not reported on the run record: %v", rep.Problems)
	}
	if rep.OK() || rep.Runs != 2 || rep.RunsVerified != 0 || rep.RunChains != 2 {
		t.Fatalf("report %+v", rep)
	}
	// The same checks for a run record verified on its own.
	one, err := ledger.Verify(context.Background(), e.store, e.ver, ledger.VerifyOptions{Prefix: a.Key, SkipChains: true})
	if err != nil {
		t.Fatal(err)
	}
	if one.OK() || !problemFor(one, a.Key, "that is not in the store") {
		t.Fatalf("single record with missing evidence: %+v", one)
	}
}

func TestVerifyDetectsModifiedRunRecord(t *testing.T) {
	e := newEnv(t)
	_, a := e.success("nightly")
	b := e.appendRun(e.record("nightly", evidence.RunError, evidence.TriggerSchedule))
	e.mutate(a.Key, func(d []byte) []byte {
		i := bytes.Index(d, []byte(`"payload": "`)) + len(`"payload": "`) + 40
		if d[i] == 'A' {
			d[i] = 'B'
		} else {
			d[i] = 'A'
		}
		return d
	})
	rep := e.verify()
	if !problemFor(rep, a.Key, "modified after it was written") {
		t.Errorf("modified run record not named: %v", rep.Problems)
	}
	if !problemFor(rep, b.Key, "previous run record "+a.Key) || !problemFor(rep, b.Key, "was modified") {
		t.Errorf("successor's broken link not reported: %v", rep.Problems)
	}
	if rep.OK() || rep.Runs != 2 || rep.RunsVerified != 1 {
		t.Fatalf("report %+v", rep)
	}
}

// TestRunRecordDocExample decodes the example run record of
// docs/evidence.md strictly, so the documented shape cannot drift from the
// code, and checks it is a record VerifyRun would accept.
func TestRunRecordDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "evidence.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- run-example:begin -->\n```json\n", "```\n<!-- run-example:end -->"
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("docs/evidence.md has no run-example block")
	}
	block := []byte(s[i+len(begin) : j])
	var rec evidence.RunRecord
	dec := json.NewDecoder(bytes.NewReader(block))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		t.Fatalf("the documented run record does not decode: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("data after the documented run record: %v", err)
	}
	// Every field is shown, so the doc documents each.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(block, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"job", "collector", "schedule", "timeZone", "trigger", "window", "startedAt", "finishedAt", "status", "evidence", "config", "producer", "previous"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("the documented run record lacks %q", f)
		}
	}
	for _, f := range append(slices.Collect(maps.Keys(fields)), "error") {
		if !strings.Contains(s, "| `"+f+"` |") {
			t.Errorf("the run record table in docs/evidence.md does not describe %q", f)
		}
	}
	// It is a record changeproof would sign and verify.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	st := &evidence.RunStatement{Type: evidence.StatementType, Subject: evidence.RunSubject(rec.Evidence), PredicateType: evidence.RunPredicateType, Predicate: rec}
	if _, err := signer.SignRun(context.Background(), st); err != nil {
		t.Fatalf("the documented run record is not valid: %v", err)
	}
	for _, ev := range rec.Evidence {
		if pk, err := ledger.ParseEvidenceKey(ev.Key); err != nil || pk.Digest != ev.SHA256 {
			t.Errorf("documented evidence %s: %v", ev.Key, err)
		}
	}
	if pk, err := ledger.ParseRunKey(rec.Previous.Key); err != nil || pk.Digest != rec.Previous.SHA256 || pk.Job != rec.Job {
		t.Errorf("documented previous %s: %+v, %v", rec.Previous.Key, pk, err)
	}
}

func TestVerifyRunRecordNamingWhatIsNotEvidence(t *testing.T) {
	e := newEnv(t)
	ev, _ := e.success("nightly")
	raw := ev.RawKey
	other := strings.Repeat("0", 64)
	rec := e.record("nightly", evidence.RunError, evidence.TriggerSchedule)
	rec.Evidence = []evidence.RunEvidence{
		{Key: raw, SHA256: strings.TrimSuffix(strings.TrimPrefix(raw, ledger.RawPrefix), ".json"), Status: evidence.StatusPass},
		{Key: ev.Key, SHA256: other, Status: evidence.StatusPass},
	}
	r := e.appendRun(rec)
	rep := e.verify()
	if !problemFor(rep, r.Key, "run record names evidence "+raw+", which is not an evidence key") {
		t.Errorf("a raw facts object named as evidence not reported: %v", rep.Problems)
	}
	if !problemFor(rep, r.Key, "run record names evidence "+ev.Key+" with sha256 "+other+", which its key contradicts") {
		t.Errorf("a digest its key contradicts not reported: %v", rep.Problems)
	}
}

// An object under runs/JOB/ whose content does not match its name is not a
// record of anyone's: it neither blocks a new job nor starts its chain.
func TestAMisnamedObjectDoesNotBlockANewJob(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key, err := ledger.RunKey("fresh", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Put(ctx, key, []byte("not a record")); err != nil {
		t.Fatal(err)
	}
	if end, err := e.ledger.LastWindowEnd(ctx, "fresh"); err != nil || !end.IsZero() {
		t.Fatalf("LastWindowEnd = %s, %v; want a first run", end, err)
	}
	rec := e.appendRun(e.record("fresh", evidence.RunError, evidence.TriggerSchedule))
	if !rec.Statement.Predicate.Previous.First {
		t.Fatalf("previous = %+v", rec.Statement.Predicate.Previous)
	}
	if rep := e.verify(); !problemFor(rep, key, "") {
		t.Fatalf("verify does not name the misnamed object: %v", rep.Problems)
	}
}
