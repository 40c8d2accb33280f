package coverage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

// MaxWindowsPerJob bounds how many windows one job may be expected to have
// in a report's period, so that "@every 1s" over a year is refused instead
// of exhausting memory.
const MaxWindowsPerJob = 100_000

// Spec is a job as coverage expects it: what it should have collected, on
// which schedule, for which controls.
type Spec struct {
	// Name is the job's name (its run records are under runs/<Name>/).
	Name string
	// Collector is the collector the job runs.
	Collector string
	// Schedule is the job's cron spec (schedules.ParseSchedule).
	Schedule string
	// TimeZone is the IANA zone the schedule is read in; "" is UTC.
	TimeZone string
	// Controls are the controls the job's evidence supports.
	Controls []evidence.Control
	// Since, when set, is when the job began: no window before it is
	// expected. SpecsFromRuns sets it to the first window of a job whose
	// run chain starts in the store; a config's jobs leave it zero, so a
	// job added late shows the windows before it as missing.
	Since time.Time
}

// Input is what Compute reads.
type Input struct {
	// Store holds the evidence and run records.
	Store storage.Store
	// Verifier holds the trusted public keys.
	Verifier *evidence.Verifier
	// Specs are the jobs, in the order the report lists them.
	Specs []Spec
	// Period is [From, To).
	Period Period
	// Now is the clock reading: only windows that ended at or before it
	// are expected.
	Now time.Time
	// Boundary names the objects just outside a partial store (an auditor's
	// bundle, whose signed manifest lists them) that run records may link
	// to without breaking their chain (ledger.VerifyOptions.Boundary).
	Boundary map[string]string
	// Catalog optionally orders the controls: ids listed here come first,
	// in this order; others follow in the order the specs name them.
	Catalog []string
}

// Compute says, for each job and each control, which windows of the period
// were expected, which verified evidence covers and where the gaps are.
//
// A job's expected windows are its schedule's windows [previous tick,
// tick) that overlap the period and ended at or before Now. Each of the
// job's run records (runs/<job>/) is checked as `changeproof verify` checks
// it (ledger.CheckRunsWithin). Then, for each expected window:
//   - a record that verifies (itself, its run chain at that record, and
//     every envelope it names, with raw facts) with status success and a
//     window that contains the expected window covers it; the window's
//     status is the worst overall status of the record's envelopes;
//   - otherwise a record whose window overlaps it accounts for the gap:
//     missed (a verified missed record), failed (a verified error or
//     interrupted record; Reason is its error) or unverifiable (a record
//     that does not verify, read without trusting it; Reason is the first
//     problem);
//   - otherwise the window is missing.
//
// A covering record always wins over a gap; among several covering records
// or several gap records the newest (last in key order, i.e. by finishing
// time) wins, so a later successful retry covers an earlier error.
//
// It returns an error for a bad spec or period, and when the store cannot
// be read; problems with what the store holds are in the report.
func Compute(ctx context.Context, in Input) (*Report, error) {
	if in.Store == nil || in.Verifier == nil {
		return nil, errors.New("coverage: a store and a verifier are required")
	}
	if in.Period.From.IsZero() || in.Period.To.IsZero() || !in.Period.To.After(in.Period.From) {
		return nil, fmt.Errorf("coverage: period [%s, %s) is empty or inverted",
			in.Period.From.UTC().Format(time.RFC3339), in.Period.To.UTC().Format(time.RFC3339))
	}
	if in.Now.IsZero() {
		return nil, errors.New("coverage: the clock reading (Now) is required")
	}
	rep := &Report{
		SchemaVersion: SchemaVersion,
		Store:         in.Store.Describe().URL,
		Period:        Period{From: in.Period.From.UTC(), To: in.Period.To.UTC()},
		GeneratedAt:   in.Now.UTC(),
		Controls:      []Control{},
		Jobs:          make([]Job, 0, len(in.Specs)),
		Exceptions:    []Exception{},
		Problems:      []Problem{},
	}
	seen := map[string]bool{}
	for _, spec := range in.Specs {
		if seen[spec.Name] {
			return nil, fmt.Errorf("coverage: job %q is listed twice", spec.Name)
		}
		seen[spec.Name] = true
		job, exc, probs, err := computeJob(ctx, in, spec)
		if err != nil {
			return nil, err
		}
		rep.Jobs = append(rep.Jobs, *job)
		rep.Exceptions = append(rep.Exceptions, exc...)
		rep.Problems = append(rep.Problems, probs...)
	}
	rep.Controls = aggregate(in.Specs, rep.Jobs, in.Catalog)
	return rep, nil
}

// account is one run record's claim on expected windows.
type account struct {
	status  WindowStatus
	run     string
	reason  string
	window  schedules.Window
	evKeys  []string
	evStats []*evidence.Statement
}

func computeJob(ctx context.Context, in Input, spec Spec) (*Job, []Exception, []Problem, error) {
	loc := time.UTC
	if spec.TimeZone != "" {
		var err error
		if loc, err = time.LoadLocation(spec.TimeZone); err != nil {
			return nil, nil, nil, fmt.Errorf("coverage: job %s: time zone %q: %w", spec.Name, spec.TimeZone, err)
		}
	}
	sched, err := schedules.ParseSchedule(spec.Schedule, loc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("coverage: job %s: %w", spec.Name, err)
	}
	period := in.Period
	if spec.Since.After(period.From) {
		period.From = spec.Since
	}
	expected, err := expectedWindows(sched, period, in.Now)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("coverage: job %s: %w", spec.Name, err)
	}
	runs, err := ledger.CheckRunsWithin(ctx, in.Store, in.Verifier, spec.Name, in.Boundary)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("coverage: job %s: %w", spec.Name, err)
	}

	ids := make([]string, len(spec.Controls))
	for i, c := range spec.Controls {
		ids[i] = c.ID
	}
	job := &Job{
		Name: spec.Name, Collector: spec.Collector, Schedule: sched.Spec(), TimeZone: loc.String(),
		Controls: ids, Windows: make([]Window, len(expected)), Gaps: []Gap{}, Counts: zeroCounts(),
	}
	accounts := make([]*account, len(expected))
	var problems []Problem
	var lastCovered time.Time
	for i := range runs {
		r := &runs[i]
		for _, p := range r.Problems {
			problems = append(problems, Problem{Key: p.Key, Reason: p.Reason})
		}
		a := accountOf(r)
		if a == nil {
			continue
		}
		if a.status.Covered() && !a.window.End.After(in.Now) && a.window.End.After(lastCovered) {
			lastCovered = a.window.End
		}
		for _, wi := range overlapping(expected, a.window) {
			w := expected[wi]
			if a.status.Covered() && (w.Start.Before(a.window.Start) || w.End.After(a.window.End)) {
				continue // a success covers only windows it contains
			}
			if cur := accounts[wi]; cur == nil || a.status.Covered() || !cur.status.Covered() {
				accounts[wi] = a
			}
		}
	}

	var exceptions []Exception
	excepted := map[string]bool{}
	for i, w := range expected {
		win := Window{Start: w.Start.UTC(), End: w.End.UTC(), Status: WindowMissing, Reason: "no run record accounts for this window"}
		if a := accounts[i]; a != nil {
			win.Status, win.Run, win.Reason = a.status, a.run, a.reason
			if a.status.Covered() {
				win.Evidence = a.evKeys
				if !excepted[a.run] {
					excepted[a.run] = true
					exceptions = append(exceptions, exceptionsOf(spec.Name, ids, a)...)
				}
			}
		}
		job.Windows[i] = win
		job.Counts[win.Status]++
		job.Expected++
		if win.Status.Covered() {
			job.Covered++
			job.Status = evidence.Worse(cmp.Or(job.Status, evidence.StatusPass), evidence.Status(win.Status))
		} else {
			job.Status = evidence.Worse(cmp.Or(job.Status, evidence.StatusPass), evidence.StatusNotVerifiable)
		}
	}
	job.Ratio = ratio(job.Covered, job.Expected)
	job.Gaps = gaps(job.Windows)
	job.Freshness = freshness(sched, lastCovered, in.Now)
	return job, exceptions, dedupe(problems), nil
}

// accountOf is what a checked run record says about windows, or nil when
// it says nothing readable.
func accountOf(r *ledger.CheckedRun) *account {
	if !r.OK() {
		st := r.Statement
		if st == nil {
			st = r.Claimed
		}
		if st == nil {
			return nil
		}
		reason := "the run record does not verify"
		if len(r.Problems) > 0 {
			reason = r.Problems[0].String()
		}
		return &account{status: WindowUnverifiable, run: r.Key, reason: reason, window: st.Predicate.Window}
	}
	p := &r.Statement.Predicate
	a := &account{run: r.Key, window: p.Window}
	switch p.Status {
	case evidence.RunSuccess:
		status := evidence.StatusPass
		for _, e := range p.Evidence {
			st := r.Evidence[e.Key]
			if st == nil { // OK promises every envelope verified
				return &account{status: WindowUnverifiable, run: r.Key, reason: "evidence " + e.Key + " was not verified", window: p.Window}
			}
			status = evidence.Worse(status, st.Predicate.Status)
			a.evKeys = append(a.evKeys, e.Key)
			a.evStats = append(a.evStats, st)
		}
		a.status = WindowStatus(status)
	case evidence.RunMissed:
		a.status, a.reason = WindowMissed, p.Error
	default: // error, interrupted
		a.status, a.reason = WindowFailed, fmt.Sprintf("run %s: %s", p.Status, p.Error)
	}
	return a
}

// exceptionsOf lists the findings of a covering record's evidence that are
// not pass; evidence whose status is not pass without such a finding is one
// exception on its scope with its reason.
func exceptionsOf(job string, controls []string, a *account) []Exception {
	var out []Exception
	period := Period{From: a.window.Start.UTC(), To: a.window.End.UTC()}
	for i, st := range a.evStats {
		p := &st.Predicate
		n := 0
		for _, f := range p.Findings {
			if f.Status == evidence.StatusPass {
				continue
			}
			n++
			out = append(out, Exception{Job: job, Controls: controls, Window: period, Evidence: a.evKeys[i],
				Target: f.Target, Status: f.Status, Verdict: f.Verdict, Summary: f.Summary})
		}
		if n == 0 && p.Status != evidence.StatusPass {
			summary := cmp.Or(p.Reason, "the evidence's status is "+string(p.Status)+" without a finding that says why")
			out = append(out, Exception{Job: job, Controls: controls, Window: period, Evidence: a.evKeys[i],
				Target: p.Scope, Status: p.Status, Summary: summary})
		}
	}
	return out
}

// expectedWindows lists the schedule's windows that overlap the period and
// ended at or before now, oldest first.
func expectedWindows(s *schedules.Schedule, p Period, now time.Time) ([]schedules.Window, error) {
	start, ok := s.Prev(p.From)
	if !ok {
		// No tick in the 5 years up to From: windows start at the first
		// tick after it.
		if start = s.Next(p.From); start.IsZero() {
			return nil, nil
		}
	}
	var out []schedules.Window
	for t := start; t.Before(p.To); {
		n := s.Next(t)
		if n.IsZero() || n.After(now) {
			break
		}
		if len(out) == MaxWindowsPerJob {
			return nil, fmt.Errorf("schedule %s expects more than %d windows in [%s, %s): ask for a shorter period",
				s, MaxWindowsPerJob, p.From.UTC().Format(time.RFC3339), p.To.UTC().Format(time.RFC3339))
		}
		out = append(out, schedules.Window{Start: t.UTC(), End: n.UTC()})
		t = n
	}
	return out, nil
}

// overlapping returns the indexes of the windows (sorted, not overlapping)
// that overlap w.
func overlapping(ws []schedules.Window, w schedules.Window) []int {
	i := sort.Search(len(ws), func(i int) bool { return ws[i].End.After(w.Start) })
	var out []int
	for ; i < len(ws) && ws[i].Start.Before(w.End); i++ {
		out = append(out, i)
	}
	return out
}

// gaps merges consecutive uncovered windows of the same status.
func gaps(ws []Window) []Gap {
	out := []Gap{}
	for i, w := range ws {
		if w.Status.Covered() {
			continue
		}
		if n := len(out); n > 0 && i > 0 && ws[i-1].Status == w.Status && out[n-1].End.Equal(w.Start) {
			out[n-1].End = w.End
			out[n-1].Windows++
			continue
		}
		out = append(out, Gap{Start: w.Start, End: w.End, Status: w.Status, Windows: 1, Reason: w.Reason})
	}
	return out
}

func freshness(s *schedules.Schedule, lastCovered, now time.Time) Freshness {
	f := Freshness{AgeSeconds: -1}
	if !lastCovered.IsZero() {
		f.LastCoveredEnd = lastCovered.UTC()
		f.AgeSeconds = int64(now.Sub(lastCovered) / time.Second)
	}
	if latest, ok := s.Prev(now); ok {
		f.Stale = latest.After(lastCovered)
	}
	return f
}

// aggregate sums the jobs of each control: catalog order first, then the
// order the specs name the controls.
func aggregate(specs []Spec, jobs []Job, catalog []string) []Control {
	byID := map[string]*Control{}
	var order []string
	for i, spec := range specs {
		job := &jobs[i]
		for _, c := range spec.Controls {
			ctl, ok := byID[c.ID]
			if !ok {
				ctl = &Control{Framework: c.Framework, ID: c.ID, Title: c.Title, Jobs: []string{}, Counts: zeroCounts()}
				byID[c.ID] = ctl
				order = append(order, c.ID)
			}
			if slices.Contains(ctl.Jobs, job.Name) {
				continue
			}
			ctl.Jobs = append(ctl.Jobs, job.Name)
			ctl.Expected += job.Expected
			ctl.Covered += job.Covered
			for k, n := range job.Counts {
				ctl.Counts[k] += n
			}
			if job.Status != "" {
				ctl.Status = evidence.Worse(cmp.Or(ctl.Status, evidence.StatusPass), job.Status)
			}
		}
	}
	rank := func(id string) int {
		if i := slices.Index(catalog, id); i >= 0 {
			return i
		}
		return len(catalog) + slices.Index(order, id)
	}
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
	out := make([]Control, 0, len(order))
	for _, id := range order {
		c := byID[id]
		c.Ratio = ratio(c.Covered, c.Expected)
		out = append(out, *c)
	}
	return out
}

func ratio(covered, expected int) float64 {
	if expected == 0 {
		return 1
	}
	return float64(covered) / float64(expected)
}

func zeroCounts() map[WindowStatus]int {
	m := make(map[WindowStatus]int, len(WindowStatuses))
	for _, s := range WindowStatuses {
		m[s] = 0
	}
	return m
}

func dedupe(ps []Problem) []Problem {
	seen := map[Problem]bool{}
	out := make([]Problem, 0, len(ps))
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
