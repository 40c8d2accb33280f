package coverage

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/storage"
)

// SpecsFromRuns derives the jobs from the store's run records, for readers
// without the config file (the auditor's bundle): one Spec per job under
// runs/, sorted by name, with the schedule, time zone and collector of the
// job's newest verified record that names a schedule, and the controls of
// the evidence its verified records name (newest record first, each
// control once), and Since the start of the job's first window when its
// first record is in the store. Jobs with no verified scheduled record are
// left out: they expect no windows. A job's records are checked as Compute checks them;
// boundary is Input.Boundary.
func SpecsFromRuns(ctx context.Context, st storage.Store, v *evidence.Verifier, boundary map[string]string) ([]Spec, error) {
	var jobs []string
	for obj, err := range st.List(ctx, ledger.RunsPrefix) {
		if err != nil {
			return nil, err // the store names the prefix
		}
		pk, err := ledger.ParseRunKey(obj.Key)
		if err != nil {
			continue // not a run record: verify reports it
		}
		if n := len(jobs); n == 0 || jobs[n-1] != pk.Job {
			jobs = append(jobs, pk.Job)
		}
	}
	slices.Sort(jobs)
	jobs = slices.Compact(jobs)
	var specs []Spec
	for _, job := range jobs {
		runs, err := ledger.CheckRunsWithin(ctx, st, v, job, boundary)
		if err != nil {
			return nil, fmt.Errorf("run records of job %s: %w", job, err)
		}
		var spec *Spec
		var since time.Time
		seen := map[string]bool{}
		var controls []evidence.Control
		for i := len(runs) - 1; i >= 0; i-- {
			r := &runs[i]
			if !r.OK() {
				continue
			}
			p := &r.Statement.Predicate
			if p.Previous.First && p.Trigger != evidence.TriggerManual {
				since = p.Window.Start
			}
			if spec == nil && p.Schedule != "" {
				spec = &Spec{Name: job, Collector: p.Collector.Name, Schedule: p.Schedule, TimeZone: p.TimeZone}
			}
			for _, e := range p.Evidence {
				ev := r.Evidence[e.Key]
				if ev == nil {
					continue
				}
				for _, c := range ev.Predicate.Controls {
					if !seen[c.ID] {
						seen[c.ID] = true
						controls = append(controls, c)
					}
				}
			}
		}
		if spec == nil {
			continue
		}
		spec.Controls, spec.Since = controls, since
		specs = append(specs, *spec)
	}
	return specs, nil
}
