package branchprotection

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

// fuzzCases are the golden cases whose routes the fuzz target corrupts: a
// classic protection, rulesets only, and rulesets with bypass actors.
var fuzzCases = []string{"testdata/classic-meets-policy", "testdata/rulesets-only-pass", "testdata/bypass-actors-present-fail"}

// FuzzCollectHostileBody serves a golden case with one route's body
// replaced by the fuzzer's bytes (malformed JSON, nulls, wrong types, huge
// numbers, huge arrays) and collects: the collector never panics, and what
// it returns is a consistent judgement.
func FuzzCollectHostileBody(f *testing.F) {
	var cases []collectortest.FuzzCase
	for _, dir := range fuzzCases {
		var gc goldenCase
		fx := loadFuzzCase(f, dir, &gc)
		req := collectors.Request{Scope: gc.Scope}
		cases = append(cases, collectortest.FuzzCase{Fixture: fx,
			Collect: func(_ *testing.T, gh *githubapi.Client, log *slog.Logger) (*collectors.Result, error) {
				r := req
				r.Policy = NewPolicy()
				return New(collectors.Deps{GitHub: gh, Logger: log, Now: time.Now}).Collect(context.Background(), r)
			}})
	}
	collectortest.FuzzGitHubRoutes(f, testToken, cases, hostileBodies)
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
