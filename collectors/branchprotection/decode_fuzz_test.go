package branchprotection

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
		srv := ghfake.New(&ghfake.Fixture{Routes: routes}, ghfake.WithToken(testToken))
		log := slog.New(slog.DiscardHandler)
		_, gh := collectortest.GitHubClient(t, srv, srv, testToken, log)
		coll := New(collectors.Deps{GitHub: gh, Logger: log, Now: time.Now}).(*Collector)
		req := c.req
		req.Policy = NewPolicy()
		res, err := coll.Collect(context.Background(), req)
		checkFuzzResult(t, res, err)
	})
}

// hostileBodies are seeds for every route: what a broken or hostile API
// might answer, a huge page among them.
var hostileBodies = []string{
	"[" + strings.Repeat(`{"id":1,"sha":null,"user":null},`, 2999) + "null]",
	"", "null", "{}", "[]", "[null]", "{", `{"url":`, "\"x\"", "1e400",
	`{"required_status_checks":null,"enforce_admins":null,"required_pull_request_reviews":{"required_approving_review_count":1e400}}`,
	`[{"type":null,"parameters":null,"ruleset_id":-1}]`,
	`[{"type":"pull_request","parameters":{"required_approving_review_count":"two"},"ruleset_id":99999999999999999999}]`,
	`{"id":1,"bypass_actors":[null],"rules":null,"conditions":{"ref_name":null}}`,
	`[{"name":null,"archived":null,"default_branch":null}]`,
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
