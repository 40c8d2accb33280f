package cistatus

import (
	"testing"

	"github.com/changeproof/changeproof/internal/collectortest"
)

// fuzzCases are the golden cases whose routes the fuzz target corrupts.
var fuzzCases = []string{"testdata/green-pass", "testdata/required-workflows", "testdata/rerun-attempt-green-pass"}

// FuzzCollectHostileBody serves a golden case with one route's body
// replaced by the fuzzer's bytes (malformed JSON, nulls, wrong types, huge
// numbers, huge arrays) and collects: the collector never panics, and what
// it returns is a consistent judgement.
func FuzzCollectHostileBody(f *testing.F) {
	collectortest.FuzzGitHubRoutes(f, testToken, collectortest.FuzzGoldenCases(f, fuzzCases, New), hostileBodies)
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
