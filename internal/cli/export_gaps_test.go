package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/coverage/coveragetest"
	"github.com/changeproof/changeproof/schedules"
)

// A daily job that passed on the first 3 days of November and never ran
// again: its evidence all passes, but 19 of the period's windows have
// none, so the OSCAL export must not call its control satisfied.
func TestExportOSCALGapsAreNotSatisfied(t *testing.T) {
	b := coveragetest.New(t)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	cc81 := evidence.Control{Framework: "soc2", ID: "CC8.1", Title: "Change management"}
	for d := range 3 {
		b.Write(coveragetest.Run{Job: "merge-activity-daily", Collector: "merge-activity", Schedule: "@daily", TimeZone: "UTC",
			Window: schedules.Window{Start: start.AddDate(0, 0, d), End: start.AddDate(0, 0, d+1)}, Status: evidence.RunSuccess,
			Controls: []evidence.Control{cc81}})
	}
	r := run(t, "export", "oscal", "--store", b.Dir+"/evidence", "--pubkey", b.PubFile, "--from", "2026-11-01", "--to", "2026-11-23")
	if r.code != 0 {
		t.Fatalf("export: %+v", r)
	}
	var doc struct {
		AR struct {
			Results []struct {
				Findings []struct {
					Target struct {
						TargetID string `json:"target-id"`
						Status   struct {
							State string `json:"state"`
						} `json:"status"`
					} `json:"target"`
					Remarks string `json:"remarks"`
				} `json:"findings"`
			} `json:"results"`
		} `json:"assessment-results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, f := range doc.AR.Results[0].Findings {
		if f.Target.TargetID != "cc8.1" {
			continue
		}
		found = true
		if f.Target.Status.State != "not-satisfied" || !strings.Contains(f.Remarks, "job merge-activity-daily: [2026-11-04T00:00:00Z, 2026-11-23T00:00:00Z), 19 expected window(s) missing") {
			t.Errorf("cc8.1 is %s: %s", f.Target.Status.State, f.Remarks)
		}
	}
	if !found {
		t.Errorf("no finding for cc8.1:\n%s", r.stdout)
	}
}
