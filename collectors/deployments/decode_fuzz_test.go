package deployments

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/cffake"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
)

// fuzzCases are the golden cases whose routes the fuzz target corrupts:
// GitHub deployments, Workers and Pages.
var fuzzCases = []string{"testdata/approved-pull-and-direct-push", "testdata/workers-interactive-edits-and-rollbacks", "testdata/pages-paginated"}

// FuzzCollectHostileBody serves a golden case with one GitHub route's body
// or one Cloudflare route's whole response body replaced by the fuzzer's bytes
// (malformed JSON, nulls, wrong types, huge numbers, huge arrays) and
// collects: the collector never panics, and what it returns is a
// consistent judgement.
func FuzzCollectHostileBody(f *testing.F) {
	var cases []caseFile
	for ci, dir := range fuzzCases {
		data, err := os.ReadFile(filepath.Join(dir, "fixture.json"))
		if err != nil {
			f.Fatal(err)
		}
		var cf caseFile
		if err := json.Unmarshal(data, &cf); err != nil {
			f.Fatal(err)
		}
		read := func(name string) []byte {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				f.Fatal(err)
			}
			return b
		}
		for i := range cf.GitHub {
			if n := cf.GitHub[i].File; n != "" {
				cf.GitHub[i].Body, cf.GitHub[i].File = read(n), ""
			}
		}
		for i := range cf.Cloudflare {
			if n := cf.Cloudflare[i].File; n != "" {
				cf.Cloudflare[i].Result, cf.Cloudflare[i].File = read(n), ""
			}
		}
		cases = append(cases, cf)
		n := len(cf.GitHub) + len(cf.Cloudflare)
		var bodies [][]byte
		for ri := range n {
			var body []byte
			if ri < len(cf.GitHub) {
				body = cf.GitHub[ri].Body
			} else {
				// The whole response, envelope and all.
				body = append(append([]byte(`{"success":true,"errors":[],"messages":[],"result":`), cf.Cloudflare[ri-len(cf.GitHub)].Result...), '}')
			}
			bodies = append(bodies, body)
		}
		collectortest.SeedRoutes(f, ci, bodies, hostileBodies)
	}
	f.Fuzz(func(t *testing.T, which uint16, body []byte) {
		ci, _ := collectortest.Pick(which, len(cases), 1)
		cf := cases[ci]
		gh, cl := slices.Clone(cf.GitHub), slices.Clone(cf.Cloudflare)
		if _, ri := collectortest.Pick(which, 1, len(gh)+len(cl)); ri < len(gh) {
			gh[ri].Body = body
		} else {
			r := &cl[ri-len(gh)]
			if len(body) == 0 {
				body = []byte(" ") // the fake serves no empty raw body; a blank one is as empty to a JSON reader
			}
			r.Result, r.Raw, r.Items, r.Unpaged = body, true, "", false
		}
		e := newEnv(t, &ghfake.Fixture{Routes: gh}, &cffake.Fixture{Routes: cl},
			envOptions{ghMaxPerPage: cf.GHMaxPerPage, cfMaxPerPage: cf.CFMaxPerPage})
		p := NewPolicy()
		if len(cf.Policy) > 0 {
			if err := json.Unmarshal(cf.Policy, p); err != nil {
				t.Fatal(err)
			}
		}
		res, err := e.collector(t, mustTime(caseNow)).Collect(context.Background(), collectors.Request{Scope: cf.Scope, Window: week(), Policy: p})
		collectortest.CheckFuzzResult(t, res, err)
	})
}

// hostileBodies are this collector's payload shapes gone wrong, seeded for
// every route beside collectortest.HostileBodies.
var hostileBodies = []string{
	`[{"id":null,"sha":null,"ref":null,"environment":null,"created_at":"x","creator":null}]`,
	`[{"state":null,"created_at":null}]`,
	`{"items":[{"id":null,"versions":null,"annotations":null,"created_on":1e400}]}`,
	`[{"id":"x","deployment_trigger":null,"latest_stage":null,"source":{"config":null}}]`,
	`{"status":"identical","merge_base_commit":null,"ahead_by":-1e400}`,
}
