package cli

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/bundle"
	"github.com/changeproof/changeproof/internal/coverage"
	"github.com/changeproof/changeproof/internal/coveragepage"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

// bundleReport renders a bundle's report.html: the coverage of the jobs
// whose run records the bundle holds (the bundle has no config file), over
// its period, as the coverage page shows it, with links to the bundle's
// own files.
func (app *App) bundleReport(catalog *controls.Catalog) bundle.ReportFunc {
	order := make([]string, len(catalog.Controls))
	for i, c := range catalog.Controls {
		order[i] = c.ID
	}
	return func(ctx context.Context, view storage.Store, v *evidence.Verifier, boundary map[string]string, period schedules.Window, now time.Time) ([]byte, error) {
		specs, err := coverage.SpecsFromRuns(ctx, view, v, boundary)
		if err != nil {
			return nil, err
		}
		rep, err := coverage.Compute(ctx, coverage.Input{Store: view, Verifier: v, Specs: specs, Boundary: boundary,
			Period: coverage.Period{From: period.Start, To: period.End}, Now: now, Catalog: order})
		if err != nil {
			return nil, err
		}
		if err := addAdHocExceptions(ctx, view, v, rep); err != nil {
			return nil, err
		}
		var b bytes.Buffer
		err = coveragepage.Render(&b, rep, coveragepage.Options{
			Title:       "Change-management evidence bundle",
			Subtitle:    fmt.Sprintf("%s, period %s, made %s", view.Describe().URL, period, now.UTC().Format(time.RFC3339)),
			EvidenceURL: func(key string) string { return key },
		})
		return b.Bytes(), err
	}
}

// addAdHocExceptions adds the non-pass findings of verified evidence that
// no scheduled job wrote (ad hoc collections), which coverage does not
// see, so the bundle's report lists every exception of its evidence.
func addAdHocExceptions(ctx context.Context, view storage.Store, v *evidence.Verifier, rep *coverage.Report) error {
	for obj, err := range view.List(ctx, ledger.EvidencePrefix) {
		if err != nil {
			return err
		}
		data, err := view.Get(ctx, obj.Key)
		if err != nil {
			return err
		}
		ver, err := v.Verify(ctx, data)
		if err != nil || ver.Statement.Predicate.Job != "" {
			continue // unverifiable evidence is in the problems; a job's is in its windows
		}
		p := ver.Statement.Predicate
		var ids []string
		for _, c := range p.Controls {
			ids = append(ids, c.ID)
		}
		for _, f := range p.Findings {
			if f.Status == evidence.StatusPass {
				continue
			}
			rep.Exceptions = append(rep.Exceptions, coverage.Exception{Job: "(ad hoc " + p.Collector.Name + ")", Controls: ids,
				Window: coverage.Period{From: p.Window.Start, To: p.Window.End}, Evidence: obj.Key,
				Target: f.Target, Status: f.Status, Verdict: f.Verdict, Summary: f.Summary})
		}
	}
	return nil
}
