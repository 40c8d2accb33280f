package coverage_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/coverage"
	"github.com/changeproof/changeproof/internal/coverage/coveragetest"
	"github.com/changeproof/changeproof/schedules"
)

var (
	cc81  = evidence.Control{Framework: "SOC2", ID: "CC8.1", Title: "Change management"}
	a832  = evidence.Control{Framework: "ISO27001", ID: "A.8.32", Title: "Change management"}
	nowAt = day(11).Add(6 * time.Hour)
)

func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

func win(d int) schedules.Window { return schedules.Window{Start: day(d), End: day(d + 1)} }

// scenario is a store with two @daily jobs over [Nov 1, Nov 11):
//
//	bp-daily (CC8.1, A.8.32)       deploy-daily (CC8.1)
//	[1,2)   pass                   pass, every day
//	[2,3)   fail
//	[3,4)   missing (no record)
//	[4,5)   missing (no record)
//	[5,6)   missed
//	[6,7)   error, then a manual backfill: pass
//	[7,8)   success, but its evidence was modified: unverifiable
//	[8,9)   not_verifiable
//	[9,10)  error: failed
//	[10,11) missing (the job is behind: stale)
type scenario struct {
	b           *coveragetest.Builder
	runs        map[string]string // window label -> run record key accounting for it
	evidence    map[string]string // window label -> evidence key
	specs       []coverage.Spec
	tamperedRun string
}

func newScenario(t testing.TB, b *coveragetest.Builder) *scenario {
	s := &scenario{b: b, runs: map[string]string{}, evidence: map[string]string{}}
	bp := coveragetest.Run{Job: "bp-daily", Collector: "branch-protection", Schedule: "@daily", TimeZone: "UTC",
		Controls: []evidence.Control{a832, cc81}}
	write := func(label string, r coveragetest.Run) {
		ev, run := b.Write(r)
		s.runs[label] = run.Key
		if ev != nil {
			s.evidence[label] = ev.Key
		}
	}
	with := func(d int, status evidence.RunStatus, findings []evidence.Finding) coveragetest.Run {
		r := bp
		r.Window, r.Status, r.Findings = win(d), status, findings
		return r
	}
	write("1", with(1, evidence.RunSuccess, nil))
	write("2", with(2, evidence.RunSuccess, []evidence.Finding{
		{Target: "acme/api", Status: evidence.StatusPass, Summary: "protected"},
		{Target: "acme/web", Status: evidence.StatusFail, Verdict: "unprotected", Summary: "main can be force-pushed"},
	}))
	missed := with(5, evidence.RunMissed, nil)
	missed.Trigger, missed.Error = evidence.TriggerCatchUp, "3 windows were due; the catch-up limit is 2"
	write("5", missed)
	failed := with(6, evidence.RunError, nil)
	failed.Error = "GET /orgs/acme/repos: 502 Bad Gateway"
	write("6-error", failed)
	backfill := with(6, evidence.RunSuccess, nil)
	backfill.Trigger, backfill.FinishedAt = evidence.TriggerManual, day(7).Add(3*time.Hour)
	write("6", backfill)
	write("7", with(7, evidence.RunSuccess, nil))
	write("8", with(8, evidence.RunSuccess, []evidence.Finding{
		{Target: "acme/secret", Status: evidence.StatusNotVerifiable, Summary: "the token may not read the branch rules"},
	}))
	failed = with(9, evidence.RunError, nil)
	failed.Error = "context deadline exceeded"
	write("9", failed)

	// Someone edits the evidence of [7,8) after it was written.
	b.Mutate(s.evidence["7"], func(d []byte) []byte { return append(d, ' ') })
	s.tamperedRun = s.runs["7"]

	for d := 1; d <= 10; d++ {
		b.Write(coveragetest.Run{Job: "deploy-daily", Collector: "deployments", Schedule: "@daily", TimeZone: "UTC",
			Controls: []evidence.Control{cc81}, Window: win(d), Status: evidence.RunSuccess})
	}
	s.specs = []coverage.Spec{
		{Name: "bp-daily", Collector: "branch-protection", Schedule: "@daily", Controls: []evidence.Control{a832, cc81}},
		{Name: "deploy-daily", Collector: "deployments", Schedule: "@daily", TimeZone: "UTC", Controls: []evidence.Control{cc81}},
	}
	return s
}

func (s *scenario) compute(t testing.TB) *coverage.Report {
	t.Helper()
	rep, err := coverage.Compute(context.Background(), coverage.Input{
		Store: s.b.Store, Verifier: s.b.Verifier, Specs: s.specs,
		Period: coverage.Period{From: day(1), To: day(11)}, Now: nowAt,
		Catalog: []string{"CC8.1", "A.8.32"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func counts(kv ...any) map[coverage.WindowStatus]int {
	m := map[coverage.WindowStatus]int{}
	for _, s := range coverage.WindowStatuses {
		m[s] = 0
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(coverage.WindowStatus)] = kv[i+1].(int)
	}
	return m
}

func TestComputeWindowsGapsAndControls(t *testing.T) {
	s := newScenario(t, coveragetest.New(t))
	rep := s.compute(t)

	if rep.SchemaVersion != coverage.SchemaVersion || !rep.GeneratedAt.Equal(nowAt) || !rep.Period.From.Equal(day(1)) || !rep.Period.To.Equal(day(11)) {
		t.Errorf("header: %s %s %+v", rep.SchemaVersion, rep.GeneratedAt, rep.Period)
	}
	if len(rep.Jobs) != 2 || rep.Jobs[0].Name != "bp-daily" || rep.Jobs[1].Name != "deploy-daily" {
		t.Fatalf("jobs %+v, want bp-daily, deploy-daily in spec order", rep.Jobs)
	}
	bp := rep.Jobs[0]
	want := []struct {
		status coverage.WindowStatus
		run    string // label in s.runs, "" for none
		reason string // substring
	}{
		{coverage.WindowPass, "1", ""},
		{coverage.WindowFail, "2", ""},
		{coverage.WindowMissing, "", "no run record"},
		{coverage.WindowMissing, "", "no run record"},
		{coverage.WindowMissed, "5", "catch-up limit"},
		{coverage.WindowPass, "6", ""}, // the manual backfill wins over the error
		{coverage.WindowUnverifiable, "7", "stored file's sha256"},
		{coverage.WindowNotVerifiable, "8", ""},
		{coverage.WindowFailed, "9", "context deadline exceeded"},
		{coverage.WindowMissing, "", "no run record"},
	}
	if len(bp.Windows) != len(want) {
		t.Fatalf("bp-daily has %d windows, want %d: %+v", len(bp.Windows), len(want), bp.Windows)
	}
	for i, w := range want {
		got := bp.Windows[i]
		if !got.Start.Equal(day(i+1)) || !got.End.Equal(day(i+2)) {
			t.Errorf("window %d is [%s, %s), want day %d", i, got.Start, got.End, i+1)
		}
		if got.Status != w.status {
			t.Errorf("window %d: status %s, want %s (reason %q)", i, got.Status, w.status, got.Reason)
		}
		if got.Run != s.runs[w.run] {
			t.Errorf("window %d: run %q, want %q", i, got.Run, s.runs[w.run])
		}
		if !strings.Contains(got.Reason, w.reason) || (w.reason == "" && got.Reason != "") {
			t.Errorf("window %d: reason %q, want %q", i, got.Reason, w.reason)
		}
		if got.Status.Covered() != (len(got.Evidence) == 1) {
			t.Errorf("window %d (%s): evidence %v", i, got.Status, got.Evidence)
		}
	}
	if got := bp.Windows[5].Evidence; len(got) != 1 || got[0] != s.evidence["6"] {
		t.Errorf("backfilled window's evidence %v, want the manual run's %s", got, s.evidence["6"])
	}

	wantCounts := counts(coverage.WindowPass, 2, coverage.WindowFail, 1, coverage.WindowNotVerifiable, 1,
		coverage.WindowMissed, 1, coverage.WindowFailed, 1, coverage.WindowMissing, 3, coverage.WindowUnverifiable, 1)
	if !maps.Equal(bp.Counts, wantCounts) {
		t.Errorf("bp-daily counts %v, want %v", bp.Counts, wantCounts)
	}
	if bp.Expected != 10 || bp.Covered != 4 || bp.Ratio != 0.4 || bp.Status != evidence.StatusFail {
		t.Errorf("bp-daily: %d/%d ratio %v status %s, want 4/10 0.4 fail", bp.Covered, bp.Expected, bp.Ratio, bp.Status)
	}
	if bp.Schedule != "@daily" || bp.TimeZone != "UTC" || strings.Join(bp.Controls, ",") != "A.8.32,CC8.1" {
		t.Errorf("bp-daily schedule %q zone %q controls %v", bp.Schedule, bp.TimeZone, bp.Controls)
	}

	wantGaps := []coverage.Gap{
		{Start: day(3), End: day(5), Status: coverage.WindowMissing, Windows: 2},
		{Start: day(5), End: day(6), Status: coverage.WindowMissed, Windows: 1},
		{Start: day(7), End: day(8), Status: coverage.WindowUnverifiable, Windows: 1},
		{Start: day(9), End: day(10), Status: coverage.WindowFailed, Windows: 1},
		{Start: day(10), End: day(11), Status: coverage.WindowMissing, Windows: 1},
	}
	if len(bp.Gaps) != len(wantGaps) {
		t.Fatalf("gaps %+v, want %d", bp.Gaps, len(wantGaps))
	}
	for i, g := range wantGaps {
		got := bp.Gaps[i]
		if !got.Start.Equal(g.Start) || !got.End.Equal(g.End) || got.Status != g.Status || got.Windows != g.Windows || got.Reason == "" {
			t.Errorf("gap %d: %+v, want %+v with a reason", i, got, g)
		}
	}

	// The newest covered window ends on Nov 9; Nov 10's and Nov 11's ticks
	// have passed since.
	f := bp.Freshness
	if !f.LastCoveredEnd.Equal(day(9)) || f.AgeSeconds != int64(54*time.Hour/time.Second) || !f.Stale {
		t.Errorf("bp-daily freshness %+v, want last Nov 9, 54h old, stale", f)
	}
	dep := rep.Jobs[1]
	if dep.Expected != 10 || dep.Covered != 10 || dep.Ratio != 1 || dep.Status != evidence.StatusPass || len(dep.Gaps) != 0 {
		t.Errorf("deploy-daily: %d/%d ratio %v status %s gaps %v, want all covered", dep.Covered, dep.Expected, dep.Ratio, dep.Status, dep.Gaps)
	}
	if !dep.Freshness.LastCoveredEnd.Equal(day(11)) || dep.Freshness.AgeSeconds != 6*3600 || dep.Freshness.Stale {
		t.Errorf("deploy-daily freshness %+v, want fresh, 6h old", dep.Freshness)
	}

	// Controls: catalog order; CC8.1 sums both jobs.
	if len(rep.Controls) != 2 || rep.Controls[0].ID != "CC8.1" || rep.Controls[1].ID != "A.8.32" {
		t.Fatalf("controls %+v, want CC8.1 then A.8.32", rep.Controls)
	}
	c := rep.Controls[0]
	wantCC := counts(coverage.WindowPass, 12, coverage.WindowFail, 1, coverage.WindowNotVerifiable, 1,
		coverage.WindowMissed, 1, coverage.WindowFailed, 1, coverage.WindowMissing, 3, coverage.WindowUnverifiable, 1)
	if c.Expected != 20 || c.Covered != 14 || c.Ratio != 0.7 || c.Status != evidence.StatusFail ||
		strings.Join(c.Jobs, ",") != "bp-daily,deploy-daily" || !maps.Equal(c.Counts, wantCC) || c.Framework != "SOC2" || c.Title == "" {
		t.Errorf("CC8.1: %+v", c)
	}
	if a := rep.Controls[1]; a.Expected != 10 || a.Covered != 4 || a.Ratio != 0.4 || strings.Join(a.Jobs, ",") != "bp-daily" {
		t.Errorf("A.8.32: %+v", a)
	}

	// Exceptions: the failing and the not_verifiable finding, each once.
	if len(rep.Exceptions) != 2 {
		t.Fatalf("exceptions %+v, want 2", rep.Exceptions)
	}
	e := rep.Exceptions[0]
	if e.Job != "bp-daily" || e.Target != "acme/web" || e.Status != evidence.StatusFail || e.Verdict != "unprotected" ||
		e.Summary != "main can be force-pushed" || e.Evidence != s.evidence["2"] || !e.Window.From.Equal(day(2)) || !e.Window.To.Equal(day(3)) ||
		strings.Join(e.Controls, ",") != "A.8.32,CC8.1" {
		t.Errorf("exception 0: %+v", e)
	}
	if e := rep.Exceptions[1]; e.Target != "acme/secret" || e.Status != evidence.StatusNotVerifiable || e.Evidence != s.evidence["8"] {
		t.Errorf("exception 1: %+v", e)
	}

	// Problems: the run record whose evidence was modified.
	if len(rep.Problems) != 1 || rep.Problems[0].Key != s.tamperedRun || !strings.Contains(rep.Problems[0].Reason, s.evidence["7"]) {
		t.Errorf("problems %+v, want the record %s naming %s", rep.Problems, s.tamperedRun, s.evidence["7"])
	}
	if rep.Store == "" || strings.Contains(rep.Store, "@") {
		t.Errorf("store %q", rep.Store)
	}
}

func TestComputeAPeriodInsideTheRecords(t *testing.T) {
	s := newScenario(t, coveragetest.New(t))
	// [Nov 2 12:00, Nov 4): the windows overlapping it are Nov 2 and Nov 3;
	// a Now of Nov 3 12:00 leaves only Nov 2 ended.
	rep, err := coverage.Compute(context.Background(), coverage.Input{
		Store: s.b.Store, Verifier: s.b.Verifier, Specs: s.specs[:1],
		Period: coverage.Period{From: day(2).Add(12 * time.Hour), To: day(4)}, Now: day(3).Add(12 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	ws := rep.Jobs[0].Windows
	if len(ws) != 1 || !ws[0].Start.Equal(day(2)) || ws[0].Status != coverage.WindowFail {
		t.Fatalf("windows %+v, want only [Nov 2, Nov 3) fail", ws)
	}
	// Records from after Now do not make the job fresh.
	if f := rep.Jobs[0].Freshness; !f.LastCoveredEnd.Equal(day(3)) || f.Stale {
		t.Errorf("freshness %+v", f)
	}
	// Without a catalog, controls come in the order the specs name them.
	if len(rep.Controls) != 2 || rep.Controls[0].ID != "A.8.32" {
		t.Errorf("controls %+v", rep.Controls)
	}
}

func TestComputeNothingExpected(t *testing.T) {
	b := coveragetest.New(t)
	rep, err := coverage.Compute(context.Background(), coverage.Input{
		Store: b.Store, Verifier: b.Verifier,
		Specs:  []coverage.Spec{{Name: "weekly", Collector: "ci-status", Schedule: "@weekly", Controls: []evidence.Control{cc81}}},
		Period: coverage.Period{From: day(3), To: day(4)}, Now: day(4), // a Tuesday: no week ended in it
	})
	if err != nil {
		t.Fatal(err)
	}
	j, c := rep.Jobs[0], rep.Controls[0]
	if j.Expected != 0 || j.Ratio != 1 || j.Status != "" || c.Ratio != 1 || c.Status != "" || len(j.Windows) != 0 {
		t.Errorf("job %+v control %+v, want nothing expected, ratio 1, no status", j, c)
	}
	if f := j.Freshness; f.AgeSeconds != -1 || !f.LastCoveredEnd.IsZero() || !f.Stale {
		t.Errorf("freshness %+v, want none and stale (a week ended before now)", f)
	}
}

func TestComputeRefuses(t *testing.T) {
	b := coveragetest.New(t)
	spec := coverage.Spec{Name: "fast", Collector: "ci-status", Schedule: "@every 1s"}
	for name, in := range map[string]coverage.Input{
		"too many windows": {Specs: []coverage.Spec{spec}, Period: coverage.Period{From: day(1), To: day(10)}},
		"inverted period":  {Specs: []coverage.Spec{spec}, Period: coverage.Period{From: day(10), To: day(1)}},
		"bad schedule":     {Specs: []coverage.Spec{{Name: "x", Schedule: "61 * * * *"}}, Period: coverage.Period{From: day(1), To: day(2)}},
		"bad zone":         {Specs: []coverage.Spec{{Name: "x", Schedule: "@daily", TimeZone: "Mars/Base"}}, Period: coverage.Period{From: day(1), To: day(2)}},
		"bad job name":     {Specs: []coverage.Spec{{Name: "../x", Schedule: "@daily"}}, Period: coverage.Period{From: day(1), To: day(2)}},
		"twice":            {Specs: []coverage.Spec{{Name: "x", Schedule: "@daily"}, {Name: "x", Schedule: "@daily"}}, Period: coverage.Period{From: day(1), To: day(2)}},
	} {
		in.Store, in.Verifier, in.Now = b.Store, b.Verifier, nowAt
		if rep, err := coverage.Compute(context.Background(), in); err == nil {
			t.Errorf("%s: got a report %+v, want an error", name, rep)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: multi-line error %q", name, err)
		}
	}
}

func TestComputeAForgedRecordDoesNotCover(t *testing.T) {
	// A record signed by another key claims a window: it is unverifiable,
	// never covering.
	b := coveragetest.New(t)
	other := coveragetest.New(t)
	_, run := other.Write(coveragetest.Run{Job: "bp-daily", Collector: "branch-protection", Schedule: "@daily", Window: win(1), Status: evidence.RunSuccess})
	data, err := other.Store.Get(context.Background(), run.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Store.Put(context.Background(), run.Key, data); err != nil {
		t.Fatal(err)
	}
	rep, err := coverage.Compute(context.Background(), coverage.Input{
		Store: b.Store, Verifier: b.Verifier, Specs: []coverage.Spec{{Name: "bp-daily", Schedule: "@daily"}},
		Period: coverage.Period{From: day(1), To: day(2)}, Now: nowAt,
	})
	if err != nil {
		t.Fatal(err)
	}
	w := rep.Jobs[0].Windows[0]
	if w.Status != coverage.WindowUnverifiable || w.Run != run.Key || !strings.Contains(w.Reason, "signature") || len(rep.Problems) == 0 {
		t.Errorf("window %+v problems %+v, want unverifiable for the signature", w, rep.Problems)
	}
}

func TestSpecsFromRuns(t *testing.T) {
	s := newScenario(t, coveragetest.New(t))
	specs, err := coverage.SpecsFromRuns(context.Background(), s.b.Store, s.b.Verifier, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 {
		t.Fatalf("specs %+v, want 2", specs)
	}
	bp := specs[0]
	if bp.Name != "bp-daily" || bp.Collector != "branch-protection" || bp.Schedule != "@daily" || bp.TimeZone != "UTC" ||
		len(bp.Controls) != 2 || bp.Controls[0] != a832 || bp.Controls[1] != cc81 {
		t.Errorf("bp-daily spec %+v", bp)
	}
	if d := specs[1]; d.Name != "deploy-daily" || d.Collector != "deployments" || len(d.Controls) != 1 || d.Controls[0] != cc81 {
		t.Errorf("deploy-daily spec %+v", d)
	}
	// The job began with its first run record: no window before it is
	// expected of it.
	if first := s.b.Runs(t, "bp-daily")[0].Statement.Predicate.Window.Start; !bp.Since.Equal(first) {
		t.Errorf("bp-daily began %s, want its first window's start %s", bp.Since, first)
	}
	// The derived specs give the same report as the config's.
	s.specs = specs
	rep := s.compute(t)
	if j := rep.Jobs[0]; j.Expected != 10 || j.Covered != 4 {
		t.Errorf("from runs: %d/%d", j.Covered, j.Expected)
	}
	// A job that began later expects nothing before it.
	specs[0].Since = s.b.Runs(t, "bp-daily")[0].Statement.Predicate.Window.Start.AddDate(0, 0, 2)
	s.specs = specs
	if j := s.compute(t).Jobs[0]; j.Expected != 8 || j.Windows[0].Start.Before(specs[0].Since) {
		t.Errorf("a job that began on %s expects %d windows from %s", specs[0].Since, j.Expected, j.Windows[0].Start)
	}
}

func TestComputeWindowsFollowTheJobsTimeZone(t *testing.T) {
	// @daily in Europe/Berlin: local midnights, one 25h window across the
	// end of summer time on 2026-10-25.
	b := coveragetest.New(t)
	rep, err := coverage.Compute(context.Background(), coverage.Input{
		Store: b.Store, Verifier: b.Verifier,
		Specs:  []coverage.Spec{{Name: "berlin", Schedule: "@daily", TimeZone: "Europe/Berlin"}},
		Period: coverage.Period{From: time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC)},
		Now:    nowAt,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range rep.Jobs[0].Windows {
		got = append(got, w.Start.Format(time.RFC3339)+"+"+w.End.Sub(w.Start).String())
	}
	want := []string{"2026-10-23T22:00:00Z+24h0m0s", "2026-10-24T22:00:00Z+25h0m0s", "2026-10-25T23:00:00Z+24h0m0s"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("windows %v, want %v", got, want)
	}
	if g := rep.Jobs[0].Gaps; len(g) != 1 || g[0].Windows != 3 || g[0].Status != coverage.WindowMissing {
		t.Errorf("gaps %+v, want one gap of 3 missing windows", g)
	}
}
