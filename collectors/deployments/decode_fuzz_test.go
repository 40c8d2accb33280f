package deployments

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/cffake"
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
		for ri := range n {
			var body []byte
			if ri < len(cf.GitHub) {
				body = cf.GitHub[ri].Body
			} else {
				// The whole response, envelope and all.
				body = append(append([]byte(`{"success":true,"errors":[],"messages":[],"result":`), cf.Cloudflare[ri-len(cf.GitHub)].Result...), '}')
			}
			f.Add(uint16(ci<<8|ri), body)
			for _, hostile := range hostileBodies {
				f.Add(uint16(ci<<8|ri), []byte(hostile))
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint16, body []byte) {
		cf := cases[int(which>>8)%len(cases)]
		gh, cl := slices.Clone(cf.GitHub), slices.Clone(cf.Cloudflare)
		if ri := int(which&0xff) % (len(gh) + len(cl)); ri < len(gh) {
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
	})
}

// hostileBodies are seeds for every route: what a broken or hostile API
// might answer, a huge page among them.
var hostileBodies = []string{
	"[" + strings.Repeat(`{"id":1,"sha":null,"user":null},`, 2999) + "null]",
	"", "null", "{}", "[]", "[null]", "{", `{"url":`, "\"x\"", "1e400",
	`[{"id":null,"sha":null,"ref":null,"environment":null,"created_at":"x","creator":null}]`,
	`[{"state":null,"created_at":null}]`,
	`{"items":[{"id":null,"versions":null,"annotations":null,"created_on":1e400}]}`,
	`[{"id":"x","deployment_trigger":null,"latest_stage":null,"source":{"config":null}}]`,
	`{"status":"identical","merge_base_commit":null,"ahead_by":-1e400}`,
}
