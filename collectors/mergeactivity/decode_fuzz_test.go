package mergeactivity

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

// fuzzCases are the golden cases whose routes the fuzz target corrupts.
var fuzzCases = []string{"testdata/approved-pass", "testdata/emergency-reviewed-in-time-pass", "testdata/ci-rerun-before-merge-pass"}

// FuzzCollectHostileBody serves a golden case with one route's body
// replaced by the fuzzer's bytes (malformed JSON, nulls, wrong types, huge
// numbers, huge arrays) and collects: the collector never panics, and what
// it returns is a consistent judgement.
func FuzzCollectHostileBody(f *testing.F) {
	type fcase struct {
		fx *ghfake.Fixture
		gc goldenCase
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
		cases = append(cases, fcase{fx: fx, gc: gc})
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
		opts := []ghfake.Option{ghfake.WithToken(testToken)}
		if c.gc.MaxPerPage > 0 {
			opts = append(opts, ghfake.WithMaxPerPage(c.gc.MaxPerPage))
		}
		srv := ghfake.New(&ghfake.Fixture{Routes: routes}, opts...)
		log := slog.New(slog.DiscardHandler)
		_, gh := collectortest.GitHubClient(t, srv, srv, testToken, log)
		now := c.gc.Now
		coll := New(collectors.Deps{GitHub: gh, Logger: log, Now: func() time.Time { return now }}).(*Collector)
		p := NewPolicy()
		if len(c.gc.Policy) > 0 {
			if err := json.Unmarshal(c.gc.Policy, p); err != nil {
				t.Fatal(err)
			}
		}
		res, err := coll.Collect(context.Background(), collectors.Request{Scope: c.gc.Scope, Window: c.gc.Window, Policy: p})
		collectortest.CheckFuzzResult(t, res, err)
	})
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
