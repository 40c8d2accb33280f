package bundle_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/bundle"
	"github.com/changeproof/changeproof/internal/coverage/coveragetest"
	"github.com/changeproof/changeproof/schedules"
)

// benchStore is a year of a daily merge-activity job, 20 changes a day.
func benchStore(b *testing.B) (*coveragetest.Builder, schedules.Window) {
	b.Helper()
	st := coveragetest.NewMemory(b)
	for d := range 365 {
		var fs []evidence.Finding
		for n := range 20 {
			fs = append(fs, pull(b, d, d*100+n, evidence.StatusPass, "bob"))
		}
		st.Write(coveragetest.Run{Job: "merge-activity-daily", Collector: "merge-activity", Schedule: "@daily", TimeZone: "UTC",
			Window: dayWindow(d), Status: evidence.RunSuccess, Controls: []evidence.Control{cc81}, Findings: fs})
	}
	return st, schedules.Window{Start: day0, End: day0.AddDate(0, 0, 365)}
}

// BenchmarkBuild bundles a year: 365 envelopes, raw facts and run records,
// a population of 7,300 changes.
func BenchmarkBuild(b *testing.B) {
	st, year := benchStore(b)
	b.ResetTimer()
	for b.Loop() {
		var out bytes.Buffer
		if _, err := bundle.Build(context.Background(), &out, bundle.Options{Store: st.Store, Signer: st.Ledger.Signer, Period: year,
			Now: day0.AddDate(1, 0, 1), Report: simpleReport}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(out.Len()), "bytes/bundle")
	}
}

// BenchmarkVerify verifies that year's bundle offline.
func BenchmarkVerify(b *testing.B) {
	st, year := benchStore(b)
	var out bytes.Buffer
	if _, err := bundle.Build(context.Background(), &out, bundle.Options{Store: st.Store, Signer: st.Ledger.Signer, Period: year,
		Now: day0.AddDate(1, 0, 1), Report: simpleReport}); err != nil {
		b.Fatal(err)
	}
	data := out.Bytes()
	b.ResetTimer()
	for b.Loop() {
		a, err := bundle.OpenArchive(bytes.NewReader(data), int64(len(data)), "year.zip")
		if err != nil {
			b.Fatal(err)
		}
		rep, err := bundle.Verify(context.Background(), a, st.Verifier)
		if err != nil || !rep.OK() {
			b.Fatalf("%v %+v", err, rep.Problems)
		}
	}
}
