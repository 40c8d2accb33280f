package cistatus

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// fuzzCases are the golden cases whose routes the fuzz target corrupts.
var fuzzCases = []string{"testdata/green-pass", "testdata/required-workflows", "testdata/rerun-attempt-green-pass"}

// FuzzCollectHostileBody serves a golden case with one route's body
// replaced by the fuzzer's bytes (malformed JSON, nulls, wrong types, huge
// numbers, huge arrays) and collects: the collector never panics, and what
// it returns is a consistent judgement.
func FuzzCollectHostileBody(f *testing.F) {
	var cases []collectortest.FuzzCase
	for _, dir := range fuzzCases {
		var gc goldenCase
		fx := loadFuzzCase(f, dir, &gc)
		cases = append(cases, collectortest.FuzzCase{Fixture: fx, MaxPerPage: gc.MaxPerPage,
			Collect: func(t *testing.T, gh *githubapi.Client, log *slog.Logger) (*collectors.Result, error) {
				p := NewPolicy()
				if len(gc.Policy) > 0 {
					if err := json.Unmarshal(gc.Policy, p); err != nil {
						t.Fatal(err)
					}
				}
				now := gc.Now
				coll := New(collectors.Deps{GitHub: gh, Logger: log, Now: func() time.Time { return now }})
				return coll.Collect(context.Background(), collectors.Request{Scope: gc.Scope, Window: gc.Window, Policy: p})
			}})
	}
	collectortest.FuzzGitHubRoutes(f, testToken, cases, hostileBodies)
}

// hostileBodies are this collector's payload shapes gone wrong, seeded for
// every route beside collectortest.HostileBodies.
var hostileBodies = []string{
	`{"total_count":1e400,"workflow_runs":[{"id":-1,"run_attempt":null,"head_sha":null,"created_at":"x"}]}`,
	`{"total_count":1,"check_runs":[null]}`,
	`{"total_count":2,"workflows":[{"id":1,"state":null,"path":null}]}`,
	`[{"sha":null,"commit":{"committer":null}}]`,
	`{"state":"success","statuses":[{"context":null,"state":null}]}`,
}

// loadFuzzCase reads a golden case's fixture and its case.json into gc.
func loadFuzzCase(f *testing.F, dir string, gc *goldenCase) *ghfake.Fixture {
	fx, err := ghfake.Load(dir)
	if err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		f.Fatal(err)
	}
	if err := json.Unmarshal(data, gc); err != nil {
		f.Fatal(err)
	}
	return fx
}
