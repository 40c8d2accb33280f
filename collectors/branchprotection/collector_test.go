package branchprotection

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/golden"
)

const sampleOrg = "../../testdata/github/sample-org"

// TestSampleOrg is the demo organisation: the five expected statuses, the
// archived repository left out, and the requests each repository costs.
func TestSampleOrg(t *testing.T) {
	srv, gh := fakeGitHub(t, sampleOrg)
	res := collect(t, newCollector(t, gh, 0), collectors.Scope{Orgs: []string{"acme"}}, NewPolicy())

	want := map[string]evidence.Status{
		"github.com/acme/docs@main":           evidence.StatusFail,
		"github.com/acme/legacy@main":         evidence.StatusFail,
		"github.com/acme/payments@main":       evidence.StatusPass,
		"github.com/acme/secret-project@main": evidence.StatusNotVerifiable,
		"github.com/acme/web@main":            evidence.StatusPass,
	}
	got := map[string]evidence.Status{}
	for _, f := range res.Findings {
		got[f.Target] = f.Status
	}
	if !maps.Equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	wantTargets := []string{"github.com/acme/docs@main", "github.com/acme/legacy@main", "github.com/acme/payments@main",
		"github.com/acme/secret-project@main", "github.com/acme/web@main"}
	if strings.Join(res.Targets, " ") != strings.Join(wantTargets, " ") {
		t.Errorf("targets = %v, want %v", res.Targets, wantTargets)
	}
	if res.Incomplete != "" {
		t.Errorf("Incomplete = %q, want complete", res.Incomplete)
	}
	facts := res.Facts.(*Facts)
	if strings.Join(facts.SkippedArchived, ",") != "acme/old-site" {
		t.Errorf("skipped archived = %v, want [acme/old-site]", facts.SkippedArchived)
	}

	// Requests per repository, by endpoint: 2 for a repository without
	// rulesets (classic protection, rules), plus one per ruleset.
	wantRequests := map[string]int{
		"/orgs/acme/repos": 1,
		"/repos/acme/payments/branches/main/protection":       1,
		"/repos/acme/payments/rules/branches/main":            1,
		"/repos/acme/web/branches/main/protection":            1,
		"/repos/acme/web/rules/branches/main":                 1,
		"/repos/acme/web/rulesets/42":                         1,
		"/repos/acme/web/rulesets/73":                         1,
		"/repos/acme/docs/branches/main/protection":           1,
		"/repos/acme/docs/rules/branches/main":                1,
		"/repos/acme/secret-project/branches/main/protection": 1,
		"/repos/acme/secret-project/rules/branches/main":      1,
		"/repos/acme/legacy/branches/main/protection":         1,
		"/repos/acme/legacy/rules/branches/main":              1,
	}
	if byPath := srv.RequestsByPath(); !maps.Equal(byPath, wantRequests) {
		t.Errorf("requests by path = %v, want %v", byPath, wantRequests)
	}
	if res.Requests != 13 {
		t.Errorf("Result.Requests = %d, want 13", res.Requests)
	}

	byTarget := map[string]evidence.Finding{}
	for _, f := range res.Findings {
		byTarget[f.Target] = f
	}
	if s := byTarget["github.com/acme/legacy@main"].Summary; s != "fails min_approvals, dismiss_stale_approvals, block_force_pushes, no_admin_bypass" {
		t.Errorf("legacy summary = %q", s)
	}
	secret := byTarget["github.com/acme/secret-project@main"]
	for _, c := range secret.Checks {
		if !strings.Contains(c.Detail, "Resource not accessible by personal access token") || !strings.Contains(c.Fix, `"Administration: read"`) {
			t.Errorf("secret-project %s: want GitHub's reason in the detail and the permission in the fix, got %q / %q", c.Rule, c.Detail, c.Fix)
		}
	}
}

// TestDeterministicAcrossConcurrency: the facts and findings do not depend
// on how many workers read the repositories.
func TestDeterministicAcrossConcurrency(t *testing.T) {
	var outputs [][]byte
	for _, n := range []int{1, 3, 16} {
		_, gh := fakeGitHub(t, sampleOrg)
		res := collect(t, newCollector(t, gh, n), collectors.Scope{Orgs: []string{"acme"}, Branches: []string{"main", "master"}}, NewPolicy())
		outputs = append(outputs, golden.JSON(t, res))
	}
	for i := 1; i < len(outputs); i++ {
		if !bytes.Equal(outputs[0], outputs[i]) {
			t.Fatalf("results differ between concurrency settings: %s", golden.FirstDiff(outputs[0], outputs[i]))
		}
	}
}

// A branch GitHub answers 502 for, also on every retry, is not_verifiable
// naming the 502 — never an error finding — and the collection incomplete:
// the signed evidence is an error saying which branch is missing.
func TestServerErrorAfterRetries(t *testing.T) {
	_, gh := fakeGitHub(t, "testdata/server-error-after-retries")
	p, res := collectortest.Record(t, newCollector(t, gh, 0), collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Policy: NewPolicy()})
	var flaky evidence.Finding
	for _, f := range p.Findings {
		if f.Target == "github.com/acme/flaky@main" {
			flaky = f
		}
	}
	if flaky.Status != evidence.StatusNotVerifiable || !strings.Contains(flaky.Summary, "HTTP 502 Bad Gateway") {
		t.Errorf("flaky branch = %s %q, want not_verifiable naming the 502", flaky.Status, flaky.Summary)
	}
	for _, c := range flaky.Checks {
		if c.Status != evidence.StatusNotVerifiable || !strings.Contains(c.Detail, "502") {
			t.Errorf("%s: %s %q, want not_verifiable naming the 502", c.Rule, c.Status, c.Detail)
		}
	}
	if want := "1 of 2 branches could not be collected: acme/flaky@main"; res.Incomplete != want {
		t.Errorf("Incomplete = %q, want %q", res.Incomplete, want)
	}
	if p.Status != evidence.StatusError || p.Reason != "incomplete: "+res.Incomplete {
		t.Errorf("evidence = %s %q, want error with the incompleteness as reason", p.Status, p.Reason)
	}
	if p.Counts[evidence.StatusError] != 0 || p.Counts[evidence.StatusNotVerifiable] != 1 || p.Counts[evidence.StatusPass] != 1 {
		t.Errorf("counts = %v, want 1 pass and 1 not_verifiable", p.Counts)
	}
}

func TestCollectOrgListingFails(t *testing.T) {
	_, gh := serveFixture(t, &ghfake.Fixture{})
	c := newCollector(t, gh, 0)
	_, err := c.Collect(context.Background(), collectors.Request{Scope: collectors.Scope{Orgs: []string{"nope"}}, Policy: NewPolicy()})
	if err == nil {
		t.Fatal("Collect succeeded without an organisation listing")
	}
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusNotFound {
		t.Errorf("error %v: want a go-github 404 reachable with errors.As", err)
	}
	if !strings.Contains(err.Error(), "org nope") {
		t.Errorf("error %q does not name the organisation", err)
	}
}

func TestCollectBadCredentials(t *testing.T) {
	fx, err := ghfake.Load(sampleOrg)
	if err != nil {
		t.Fatal(err)
	}
	_, gh := serveFixture(t, fx, ghfake.WithToken("another-token"))
	_, err = newCollector(t, gh, 0).Collect(context.Background(),
		collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Policy: NewPolicy()})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v, want a 401 error", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("error %q prints the token", err)
	}
}

func TestCollectCancelled(t *testing.T) {
	_, gh := fakeGitHub(t, sampleOrg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := newCollector(t, gh, 0).Collect(ctx, collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Policy: NewPolicy()})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Collect = %v, %v; want context.Canceled", res, err)
	}
}

// TestCollectCancelledMidway cancels while repositories are being read:
// the collection fails rather than returning a partial population.
func TestCollectCancelledMidway(t *testing.T) {
	fx, err := ghfake.Load(sampleOrg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := ghfake.New(fx, ghfake.WithToken(testToken))
	cancelling := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/repos/acme/legacy/") {
			cancel()
		}
		srv.ServeHTTP(w, r)
	})
	_, gh := serveHandler(t, srv, cancelling)
	_, err = newCollector(t, gh, 1).Collect(ctx, collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Policy: NewPolicy()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestValidate(t *testing.T) {
	c := New(collectors.Deps{})
	org := collectors.Scope{Orgs: []string{"acme"}}
	bad := NewPolicy()
	bad.MinApprovals = 11
	tests := []struct {
		name string
		req  collectors.Request
		want string
	}{
		{"ok", collectors.Request{Scope: org, Policy: NewPolicy()}, ""},
		{"no scope", collectors.Request{Policy: NewPolicy()}, "no scope"},
		{"bad org", collectors.Request{Scope: collectors.Scope{Orgs: []string{"-x"}}, Policy: NewPolicy()}, "--org"},
		{"bad repo", collectors.Request{Scope: collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "a/b"}}}, Policy: NewPolicy()}, "--repo"},
		{"bad branch", collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}, Branches: []string{"a..b"}}, Policy: NewPolicy()}, "--branch"},
		{"policy value not pointer", collectors.Request{Scope: org, Policy: DefaultPolicy()}, "want *branchprotection.Policy"},
		{"nil policy", collectors.Request{Scope: org, Policy: (*Policy)(nil)}, "want *branchprotection.Policy"},
		{"invalid policy", collectors.Request{Scope: org, Policy: bad}, "min_approvals is 11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Validate(tt.req)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCollectWithoutClient(t *testing.T) {
	c := New(collectors.Deps{})
	_, err := c.Collect(context.Background(), collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Policy: NewPolicy()})
	if err == nil {
		t.Fatal("Collect without a GitHub client succeeded")
	}
}

func TestInfo(t *testing.T) {
	info := Info()
	if info.Name != "branch-protection" || info.Description == "" || info.New == nil {
		t.Fatalf("Info() = %+v", info)
	}
	c := info.New(collectors.Deps{})
	if c.Name() != "branch-protection" || c.Version() != "1.1.0" {
		t.Errorf("Name, Version = %q, %q", c.Name(), c.Version())
	}
	if _, ok := c.NewPolicy().(*Policy); !ok {
		t.Errorf("NewPolicy() is %T, want *Policy", c.NewPolicy())
	}
	r := collectors.NewRegistry()
	r.Register(info)
	if _, err := r.Lookup("branch-protection"); err != nil {
		t.Error(err)
	}
}

// TestDuplicateScopeEntries: an organisation named twice (in another case)
// and a repository also named explicitly are read once.
func TestDuplicateScopeEntries(t *testing.T) {
	srv, gh := fakeGitHub(t, sampleOrg)
	scope := collectors.Scope{Orgs: []string{"acme", "ACME"}, Repos: []collectors.Repo{{Owner: "acme", Name: "payments"}}}
	res := collect(t, newCollector(t, gh, 0), scope, NewPolicy())
	if len(res.Targets) != 5 {
		t.Errorf("targets = %v, want the 5 non-archived repositories once each", res.Targets)
	}
	if n := srv.RequestsByPath()["/orgs/acme/repos"]; n != 1 {
		t.Errorf("organisation listed %d times, want 1", n)
	}
	if n := srv.RequestsByPath()["/repos/acme/payments"]; n != 0 {
		t.Errorf("payments looked up %d times although the listing gave its default branch", n)
	}
}

// TestFactsKeepRawBodies: the facts hold GitHub's own bodies and the
// normalised view, serialisable to JSON.
func TestFactsKeepRawBodies(t *testing.T) {
	_, gh := fakeGitHub(t, sampleOrg)
	res := collect(t, newCollector(t, gh, 0), collectors.Scope{Orgs: []string{"acme"}}, NewPolicy())
	facts := res.Facts.(*Facts)
	var web *BranchFacts
	for i := range facts.Branches {
		if facts.Branches[i].Repo == "acme/web" {
			web = &facts.Branches[i]
		}
	}
	if web == nil {
		t.Fatal("no facts for acme/web")
	}
	if web.Classic.Status != ClassicNotProtected || web.Classic.HTTPStatus != 404 || web.Classic.Message != "Branch not protected" {
		t.Errorf("classic = %+v", web.Classic)
	}
	if web.Rules.Status != ReadOK || len(web.Rules.Pages) != 1 || !bytes.Contains(web.Rules.Pages[0].Body, []byte(`"non_fast_forward"`)) {
		t.Errorf("rules = %+v", web.Rules)
	}
	if len(web.Rulesets) != 2 || web.Rulesets[0].ID != 42 || web.Rulesets[1].ID != 73 || web.Rulesets[1].SourceType != "Organization" {
		t.Errorf("rulesets = %+v", web.Rulesets)
	}
	if web.DefaultBranch == nil || !*web.DefaultBranch {
		t.Errorf("default_branch = %v, want true", web.DefaultBranch)
	}
	for _, src := range web.View.Sources {
		if src.Bypassable == nil || *src.Bypassable {
			t.Errorf("source %s: bypassable = %v, want known false", src.ID, src.Bypassable)
		}
	}
	data := golden.JSON(t, facts)
	for _, key := range []string{`"queries"`, `"skipped_archived"`, `"branches"`, `"view"`, `"bypass_actors": []`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("facts JSON lacks %s", key)
		}
	}
}
