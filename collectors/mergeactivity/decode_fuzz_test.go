package mergeactivity

import (
	"testing"

	"github.com/changeproof/changeproof/internal/collectortest"
)

// fuzzCases are the golden cases whose routes the fuzz target corrupts.
var fuzzCases = []string{"testdata/approved-pass", "testdata/emergency-reviewed-in-time-pass", "testdata/ci-rerun-before-merge-pass"}

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
	`[{"number":null,"merged_at":"not a time","user":null,"head":null,"base":{"ref":1}}]`,
	`[{"state":"APPROVED","user":null,"submitted_at":null,"commit_id":null}]`,
	`{"total_count":1e400,"check_runs":[{"conclusion":null,"status":null,"app":null}]}`,
	`{"state":null,"statuses":null}`,
	`[{"sha":null,"commit":null,"parents":null}]`,
}
