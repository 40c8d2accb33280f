package coverage_test

import (
	"context"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/coverage"
	"github.com/changeproof/changeproof/internal/coverage/coveragetest"
	"github.com/changeproof/changeproof/schedules"
)

// BenchmarkCompute is a year of an hourly job (8760 windows, a run record
// and an envelope each) in a memory store: every signature, digest and raw
// facts object is checked on each iteration.
func BenchmarkCompute(b *testing.B) {
	bl := coveragetest.NewMemory(b)
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	for t := from; t.Before(to); t = t.Add(time.Hour) {
		bl.Write(coveragetest.Run{Job: "ci-hourly", Collector: "ci-status", Schedule: "@hourly",
			Window: schedules.Window{Start: t, End: t.Add(time.Hour)}, Status: evidence.RunSuccess, Controls: []evidence.Control{cc81}})
	}
	in := coverage.Input{Store: bl.Store, Verifier: bl.Verifier, Now: to,
		Specs:  []coverage.Spec{{Name: "ci-hourly", Collector: "ci-status", Schedule: "@hourly", Controls: []evidence.Control{cc81}}},
		Period: coverage.Period{From: from, To: to}}
	b.ResetTimer()
	for b.Loop() {
		rep, err := coverage.Compute(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		if j := rep.Jobs[0]; j.Expected != 8760 || j.Covered != 8760 {
			b.Fatalf("%d/%d covered", j.Covered, j.Expected)
		}
	}
}
