package mergeactivity

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
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
		for ri, r := range fx.Routes {
			f.Add(uint16(ci<<8|ri), []byte(r.Body))
			for _, hostile := range hostileBodies {
				f.Add(uint16(ci<<8|ri), []byte(hostile))
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint16, body []byte) {
		c := cases[int(which>>8)%len(cases)]
		routes := slices.Clone(c.fx.Routes)
		routes[int(which&0xff)%len(routes)].Body = body
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
		checkFuzzResult(t, res, err)
	})
}

// hostileBodies are seeds for every route: what a broken or hostile API
// might answer, a huge page among them.
var hostileBodies = []string{
	"[" + strings.Repeat(`{"id":1,"sha":null,"user":null},`, 2999) + "null]",
	"", "null", "{}", "[]", "[null]", "{", `{"url":`, "\"x\"", "1e400",
	`[{"number":null,"merged_at":"not a time","user":null,"head":null,"base":{"ref":1}}]`,
	`[{"state":"APPROVED","user":null,"submitted_at":null,"commit_id":null}]`,
	`{"total_count":1e400,"check_runs":[{"conclusion":null,"status":null,"app":null}]}`,
	`{"state":null,"statuses":null}`,
	`[{"sha":null,"commit":null,"parents":null}]`,
}

func checkFuzzResult(t *testing.T, res *collectors.Result, err error) {
	t.Helper()
	if err != nil {
		return
	}
	if res == nil {
		t.Fatal("Collect returned neither a result nor an error")
	}
	for _, fd := range res.Findings {
		if !fd.Status.Valid() {
			t.Fatalf("finding %s has status %q", fd.Target, fd.Status)
		}
		for _, ck := range fd.Checks {
			if evidence.Worse(fd.Status, ck.Status) != fd.Status {
				t.Fatalf("finding %s is %q over a %q check", fd.Target, fd.Status, ck.Status)
			}
		}
	}
}
