package branchprotection

import (
	"testing"

	"github.com/changeproof/changeproof/internal/collectortest"
)

// fuzzCases are the golden cases whose routes the fuzz target corrupts: a
// classic protection, rulesets only, and rulesets with bypass actors.
var fuzzCases = []string{"testdata/classic-meets-policy", "testdata/rulesets-only-pass", "testdata/bypass-actors-present-fail"}

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
	`{"required_status_checks":null,"enforce_admins":null,"required_pull_request_reviews":{"required_approving_review_count":1e400}}`,
	`[{"type":null,"parameters":null,"ruleset_id":-1}]`,
	`[{"type":"pull_request","parameters":{"required_approving_review_count":"two"},"ruleset_id":99999999999999999999}]`,
	`{"id":1,"bypass_actors":[null],"rules":null,"conditions":{"ref_name":null}}`,
	`[{"name":null,"archived":null,"default_branch":null}]`,
}
