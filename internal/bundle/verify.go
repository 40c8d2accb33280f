package bundle

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
)

// Report is the outcome of verifying a bundle.
type Report struct {
	// Manifest is the verified manifest, nil when it did not verify.
	Manifest *evidence.BundleManifest `json:"manifest"`
	// Files is how many files the bundle holds, manifest.json included.
	Files int `json:"files"`
	// Store is the verification of the evidence and run records, as
	// `changeproof verify` does for a store; its problems are also in
	// Problems.
	Store *ledger.Report `json:"store"`
	// Jobs is each job's coverage of the period by its run records.
	Jobs []JobPeriod `json:"jobs"`
	// Changes is the number of rows of population.csv.
	Changes  int              `json:"changes"`
	Problems []ledger.Problem `json:"problems"`
}

// JobPeriod is how a job's run records account for the period.
type JobPeriod struct {
	Job string `json:"job"`
	// Start and End bound what the job's windows must account for: the
	// period, from the job's first window if it began in the period, up to
	// its last tick before the bundle was made.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Began is true when the job's first run record ever is in the bundle.
	Began bool `json:"began"`
	// Records is how many of its run records are in the bundle.
	Records int `json:"records"`
	// Gaps counts the stretches no verified record accounts for.
	Gaps int `json:"gaps"`
}

// OK reports whether the bundle verified with nothing wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Manifest != nil }

func (r *Report) add(key, format string, args ...any) {
	r.Problems = append(r.Problems, ledger.Problem{Key: key, Reason: fmt.Sprintf(format, args...)})
}

// Verify checks a bundle offline: the manifest's signature by a trusted
// key; that every file it names is present with its sha256 and nothing
// else was added; every envelope and run record as a store's are verified
// (signatures, digests, raw facts, hash chains up to the manifest's
// boundaries); that each job's windows account for the period without a
// gap; and that population.csv is the population the evidence gives.
func Verify(ctx context.Context, a *Archive, v *evidence.Verifier) (*Report, error) {
	rep := &Report{Files: len(a.keys)}
	boundary := map[string]string{}
	listed := map[string]bool{ManifestFile: true}
	if data, err := a.Read(ManifestFile); err != nil {
		rep.add(ManifestFile, "%v", err)
	} else if m, err := v.VerifyBundle(ctx, data); err != nil {
		rep.add(ManifestFile, "%v", err)
	} else {
		rep.Manifest = &m.Statement.Predicate
		for _, b := range rep.Manifest.Boundaries {
			if reason := insideBundle(rep.Manifest, b, a); reason != "" {
				rep.add(b.Key, "the manifest names it as a chain link outside the bundle, but %s", reason)
				continue
			}
			boundary[b.Key] = b.SHA256
		}
		for _, sub := range m.Statement.Subject {
			listed[sub.Name] = true
			switch data, err := a.Read(sub.Name); {
			case err != nil:
				rep.add(sub.Name, "named by the signed manifest but %v", err)
			case evidence.Digest(data) != sub.Digest["sha256"]:
				rep.add(sub.Name, "modified: its sha256 is %s, the signed manifest says %s", evidence.Digest(data), sub.Digest["sha256"])
			}
		}
	}
	for _, f := range a.keys {
		if !listed[f] {
			rep.add(f, "not named by the signed manifest: added to the bundle after it was made")
		}
	}
	st, err := ledger.Verify(ctx, a, v, ledger.VerifyOptions{Boundary: boundary})
	if err != nil {
		return nil, err
	}
	rep.Store = st
	rep.Problems = append(rep.Problems, st.Problems...)
	bad := map[string]string{}
	for _, p := range st.Problems {
		if _, seen := bad[p.Key]; !seen {
			bad[p.Key] = p.Reason
		}
	}
	if err := checkPeriod(ctx, a, v, rep, boundary); err != nil {
		return nil, err
	}
	if err := checkPopulation(ctx, a, v, rep, bad); err != nil {
		return nil, err
	}
	if err := checkRecorded(ctx, a, v, rep, bad); err != nil {
		return nil, err
	}
	// What the store's verification found when the bundle was made, unless
	// the bundle shows the same problem itself.
	if rep.Manifest != nil {
		seen := map[ledger.Problem]bool{}
		for _, p := range rep.Problems {
			seen[p] = true
		}
		for _, p := range rep.Manifest.StoreProblems {
			if !seen[ledger.Problem{Key: p.Key, Reason: p.Reason}] {
				rep.add(p.Key, "the store's verification found, when the bundle was made: %s", p.Reason)
			}
		}
	}
	return rep, nil
}

// insideBundle says why a boundary should have been in the bundle, or "":
// a link outside the bundle is one whose window does not overlap the
// period, or an envelope not mapped to the bundle's control.
func insideBundle(m *evidence.BundleManifest, b evidence.BundleBoundary, a *Archive) string {
	switch {
	case a.Has(b.Key):
		return "the bundle holds it"
	case !b.Window.Start.Before(m.Period.End) || !b.Window.End.After(m.Period.Start):
		return ""
	case m.Control != "" && !slices.Contains(b.Controls, m.Control):
		return ""
	}
	return fmt.Sprintf("its window %s overlaps the period %s: it belongs in the bundle", b.Window, m.Period)
}

// checkRecorded checks that every envelope a scheduled job wrote is named
// by a run record of that job in the bundle: the run records of a job
// cannot be removed, and its evidence kept, unnoticed.
func checkRecorded(ctx context.Context, a *Archive, v *evidence.Verifier, rep *Report, bad map[string]string) error {
	named := map[string]bool{}
	for obj, err := range a.List(ctx, ledger.RunsPrefix) {
		if err != nil {
			return err
		}
		data, err := a.Read(obj.Key)
		if err != nil {
			continue
		}
		if vr, err := v.VerifyRun(ctx, data); err == nil {
			for _, e := range vr.Statement.Predicate.Evidence {
				named[e.Key] = true
			}
		}
	}
	for obj, err := range a.List(ctx, ledger.EvidencePrefix) {
		if err != nil {
			return err
		}
		if bad[obj.Key] != "" || named[obj.Key] {
			continue
		}
		data, err := a.Read(obj.Key)
		if err != nil {
			continue
		}
		if ver, err := v.Verify(ctx, data); err == nil && ver.Statement.Predicate.Job != "" {
			rep.add(obj.Key, "evidence of job %s that no run record in the bundle names: the job's run record was removed, or the run was never recorded", ver.Statement.Predicate.Job)
		}
	}
	return nil
}

// span is a run record's window; why says why it does not count ("" when
// it does).
type span struct {
	w   schedules.Window
	why string
	key string
}

// checkPeriod checks that each job's run records account for the period:
// their windows (collected, failed or recorded as missed; interrupted runs
// are collected again and do not count) join with no gap from the period's
// start — or the job's first window, if the job began in the period — to
// the end of the period or the job's last tick before the bundle was made.
// A record that does not verify (itself, the evidence it names, its chain
// link) accounts for nothing.
func checkPeriod(ctx context.Context, a *Archive, v *evidence.Verifier, rep *Report, boundary map[string]string) error {
	if rep.Manifest == nil {
		return nil // no trusted period to check against
	}
	period := rep.Manifest.Period
	var jobs []string
	for obj, err := range a.List(ctx, ledger.RunsPrefix) {
		if err != nil {
			return err
		}
		if pk, err := ledger.ParseRunKey(obj.Key); err == nil && !slices.Contains(jobs, pk.Job) {
			jobs = append(jobs, pk.Job)
		}
	}
	slices.Sort(jobs)
	for _, job := range jobs {
		recs, err := ledger.CheckRunsWithin(ctx, a, v, job, boundary)
		if err != nil {
			return err
		}
		jp := JobPeriod{Job: job, Start: period.Start, End: period.End}
		var spans []span
		var earliest time.Time
		var newest *evidence.RunRecord
		for _, r := range recs {
			if r.Statement == nil {
				continue // does not verify itself: reported by the store's verification
			}
			p := &r.Statement.Predicate
			jp.Records++
			newest = p
			if earliest.IsZero() || p.Window.Start.Before(earliest) {
				earliest = p.Window.Start
			}
			if p.Previous.First {
				jp.Began = true
			}
			switch {
			case p.Status == evidence.RunInterrupted:
			case !r.OK():
				spans = append(spans, span{w: p.Window, why: r.Problems[0].Reason, key: r.Key})
			default:
				spans = append(spans, span{w: p.Window})
			}
		}
		if newest == nil {
			continue
		}
		if jp.Began && earliest.After(jp.Start) {
			jp.Start = earliest
		}
		if loc, err := time.LoadLocation(cmp.Or(newest.TimeZone, "UTC")); err == nil && newest.Schedule != "" {
			if s, err := schedules.ParseSchedule(newest.Schedule, loc); err == nil {
				if tick, ok := s.Prev(rep.Manifest.CreatedAt); ok && tick.Before(jp.End) {
					jp.End = tick
				}
			}
		}
		slices.SortFunc(spans, func(x, y span) int { return x.w.Start.Compare(y.w.Start) })
		cursor := jp.Start
		var unverified []span
		for _, s := range spans {
			if s.why != "" {
				unverified = append(unverified, s)
				continue
			}
			if s.w.Start.After(cursor) && cursor.Before(jp.End) {
				reportGap(rep, &jp, job, cursor, minTime(s.w.Start, jp.End), unverified)
			}
			if s.w.End.After(cursor) {
				cursor = s.w.End
			}
		}
		if cursor.Before(jp.End) {
			reportGap(rep, &jp, job, cursor, jp.End, unverified)
		}
		rep.Jobs = append(rep.Jobs, jp)
	}
	return nil
}

// reportGap reports [from, to) of a job as unaccounted for, naming the run
// records that claim part of it but did not verify.
func reportGap(rep *Report, jp *JobPeriod, job string, from, to time.Time, unverified []span) {
	jp.Gaps++
	w := schedules.Window{Start: from, End: to}
	key := "runs/" + job + "/"
	why := "no run record accounts for it (neither collected nor recorded as missed)"
	for _, u := range unverified {
		if u.w.Start.Before(to) && u.w.End.After(from) {
			key = u.key
			why = "its run record does not verify: " + u.why
			break
		}
	}
	rep.add(key, "window check: %s of job %s is not covered in the period %s: %s", w, job, rep.Manifest.Period, why)
}

// checkPopulation checks that population.csv is exactly the population
// the bundle's verified evidence gives.
func checkPopulation(ctx context.Context, a *Archive, v *evidence.Verifier, rep *Report, bad map[string]string) error {
	var srcs []source
	for obj, err := range a.List(ctx, ledger.EvidencePrefix) {
		if err != nil {
			return err
		}
		if bad[obj.Key] != "" {
			continue
		}
		data, err := a.Read(obj.Key)
		if err != nil {
			continue
		}
		if ver, err := v.Verify(ctx, data); err == nil {
			srcs = append(srcs, source{key: obj.Key, st: &ver.Statement})
		}
	}
	pop := Population(srcs)
	rep.Changes = len(pop)
	want, err := PopulationCSV(pop)
	if err != nil {
		return err
	}
	got, err := a.Read(PopulationFile)
	switch {
	case err != nil:
		rep.add(PopulationFile, "%v", err)
	case !bytes.Equal(got, want):
		rep.add(PopulationFile, "is not the population the verified evidence gives (%d change(s)): %s", len(pop), firstDifference(got, want))
	}
	return nil
}

func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		gl, wl := "", ""
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d is %q, the evidence gives %q", i+1, truncate(gl), truncate(wl))
		}
	}
	return "they differ"
}

func truncate(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
