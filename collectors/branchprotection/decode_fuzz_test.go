package branchprotection

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
)

// fuzzCases are the golden cases whose routes the fuzz target corrupts: a
// classic protection, rulesets only, and rulesets with bypass actors.
var fuzzCases = []string{"testdata/classic-meets-policy", "testdata/rulesets-only-pass", "testdata/bypass-actors-present-fail"}

// FuzzCollectHostileBody serves a golden case with one route's body
// replaced by the fuzzer's bytes (malformed JSON, nulls, wrong types, huge
// numbers, huge arrays) and collects: the collector never panics, and what
// it returns is a consistent judgement.
func FuzzCollectHostileBody(f *testing.F) {
	type fcase struct {
		fx  *ghfake.Fixture
		req collectors.Request
	}
	var cases []fcase
	for ci, dir := range fuzzCases {
		fx, err := ghfake.Load(dir)
		if err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "case.json"))
		if err != nil {
			f.Fatal(err)
		}
		var gc goldenCase
		if err := json.Unmarshal(data, &gc); err != nil {
			f.Fatal(err)
		}
		cases = append(cases, fcase{fx: fx, req: collectors.Request{Scope: gc.Scope}})
		var bodies [][]byte
		for _, r := range fx.Routes {
			bodies = append(bodies, []byte(r.Body))
		}
		collectortest.SeedRoutes(f, ci, bodies, hostileBodies)
	}
	f.Fuzz(func(t *testing.T, which uint16, body []byte) {
		ci, _ := collectortest.Pick(which, len(cases), 1)
		c := cases[ci]
		routes := slices.Clone(c.fx.Routes)
		_, ri := collectortest.Pick(which, 1, len(routes))
		routes[ri].Body = body
		srv := ghfake.New(&ghfake.Fixture{Routes: routes}, ghfake.WithToken(testToken))
		log := slog.New(slog.DiscardHandler)
		_, gh := collectortest.GitHubClient(t, srv, srv, testToken, log)
		coll := New(collectors.Deps{GitHub: gh, Logger: log, Now: time.Now}).(*Collector)
		req := c.req
		req.Policy = NewPolicy()
		res, err := coll.Collect(context.Background(), req)
		collectortest.CheckFuzzResult(t, res, err)
	})
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
