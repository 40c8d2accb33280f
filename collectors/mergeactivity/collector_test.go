package mergeactivity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/golden"
	"github.com/changeproof/changeproof/schedules"
)

// memFixture turns generated routes and files into an in-memory fixture.
func memFixture(ffs ...*fixtureFiles) *ghfake.Fixture {
	fx := &ghfake.Fixture{}
	for _, ff := range ffs {
		for _, r := range ff.routes {
			if r.File != "" {
				r.Body, r.File = ff.files[r.File], ""
			}
			fx.Routes = append(fx.Routes, r)
		}
	}
	return fx
}

// TestSampleOrg is the demo organisation over the demo week: the verdict of
// every change, the secret-project population unknown, and the requests.
// TestSampleOrgGraphQL collects the sample organisation's week as users
// do, over GraphQL: the findings of the REST collection, from 15 requests
// instead of 78, no pull request read over REST, and secret-project
// (whose pull requests the token may not list) listed over REST after
// GraphQL's FORBIDDEN, with the same not_verifiable finding.
func TestSampleOrgGraphQL(t *testing.T) {
	_, restGH := fakeGitHub(t, sampleOrg)
	rest := collect(t, newCollector(t, restGH, mustTime(caseNow), 0), collectors.Scope{Orgs: []string{"acme"}}, week(), NewPolicy())
	srv, gh := fakeGitHub(t, sampleOrg)
	res := collect(t, newGraphQLCollector(t, gh, mustTime(caseNow), 0), collectors.Scope{Orgs: []string{"acme"}}, week(), NewPolicy())

	if g, w := golden.JSON(t, res.Findings), golden.JSON(t, rest.Findings); !bytes.Equal(g, w) {
		t.Errorf("findings over GraphQL differ from REST's: %s", golden.FirstDiff(w, g))
	}
	if res.Incomplete != rest.Incomplete {
		t.Errorf("Incomplete %q, over REST %q", res.Incomplete, rest.Incomplete)
	}
	// 1 organisation listing; per repository one GraphQL page and one
	// commit page (listed meanwhile); secret-project's refused REST
	// listing; the 3 commits no pull request accounts for.
	if want := 1 + 2*5 + 1 + 3; res.Requests != int64(want) || srv.Requests() != want {
		t.Errorf("requests = %d (fake saw %d), want %d: %v", res.Requests, srv.Requests(), want, srv.RequestsByPath())
	}
	facts := res.Facts.(*Facts)
	for _, r := range facts.Repos {
		if (r.GraphQLFallback != "") != (r.Repo == "acme/secret-project") {
			t.Errorf("%s: GraphQL fallback %q", r.Repo, r.GraphQLFallback)
		}
		for _, ch := range r.Changes {
			if ch.Kind == KindPull && (ch.GraphQL == nil || ch.RESTReason != "" || ch.Reviews != nil) {
				t.Errorf("%s: not read from its GraphQL node alone (%s)", ch.Target(), ch.RESTReason)
			}
		}
	}
	if r := facts.Repos[slices.IndexFunc(facts.Repos, func(r RepoFacts) bool { return r.Repo == "acme/secret-project" })]; !strings.Contains(r.GraphQLFallback, "FORBIDDEN") {
		t.Errorf("secret-project's fallback %q does not name GraphQL's FORBIDDEN", r.GraphQLFallback)
	}
}

func TestSampleOrg(t *testing.T) {
	srv, gh := fakeGitHub(t, sampleOrg)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), collectors.Scope{Orgs: []string{"acme"}}, week(), NewPolicy())

	type want struct {
		status  evidence.Status
		verdict string
	}
	wantVerdicts := map[string]want{
		"github.com/acme/payments#99":           {evidence.StatusPass, VerdictEmergency}, // re-examined from the day before
		"github.com/acme/payments#101":          {evidence.StatusPass, VerdictApproved},
		"github.com/acme/payments#102":          {evidence.StatusFail, VerdictBypass}, // self-approved
		"github.com/acme/payments#103":          {evidence.StatusFail, VerdictBypass}, // approved by a committer
		"github.com/acme/payments#104":          {evidence.StatusFail, VerdictBypass}, // stale approval
		"github.com/acme/payments#105":          {evidence.StatusFail, VerdictBypass}, // failing check
		"github.com/acme/payments#106":          {evidence.StatusPass, VerdictEmergency},
		"github.com/acme/payments#107":          {evidence.StatusFail, VerdictUnreviewed},
		"github.com/acme/payments#108":          {evidence.StatusFail, VerdictBypass}, // changes requested after approval, admin merge
		"github.com/acme/payments@b2c15ce40c5f": {evidence.StatusFail, VerdictDirectPush},
		"github.com/acme/secret-project@main":   {evidence.StatusNotVerifiable, ""},
		"github.com/acme/docs@main":             {evidence.StatusPass, VerdictNoChanges},
		"github.com/acme/legacy@main":           {evidence.StatusPass, VerdictNoChanges},
		"github.com/acme/web#201":               {evidence.StatusPass, VerdictApproved},   // rebase-merged
		"github.com/acme/web#202":               {evidence.StatusFail, VerdictBypass},     // admin merge, no approval, red build
		"github.com/acme/web#203":               {evidence.StatusFail, VerdictBypass},     // Dependabot, same review
		"github.com/acme/web#204":               {evidence.StatusFail, VerdictBypass},     // build green only after the merge
		"github.com/acme/web@50859eef7449":      {evidence.StatusFail, VerdictDirectPush}, // release bot, not allow-listed
	}
	got := map[string]want{}
	for _, f := range res.Findings {
		got[f.Target] = want{f.Status, f.Verdict}
	}
	if !maps.Equal(got, wantVerdicts) {
		t.Errorf("verdicts:\n got %v\nwant %v", got, wantVerdicts)
	}
	if !strings.Contains(res.Incomplete, "acme/secret-project") {
		t.Errorf("Incomplete = %q, want secret-project's population unknown", res.Incomplete)
	}
	facts := res.Facts.(*Facts)
	if facts.Population.Count != 14 || strings.Join(facts.SkippedArchived, ",") != "acme/old-site" {
		t.Errorf("population %d changes (want 14: 12 merged pull requests, 2 direct pushes), skipped %v", facts.Population.Count, facts.SkippedArchived)
	}
	for _, r := range facts.Repos {
		if r.Repo == "acme/payments" {
			if r.Reexamined.Count != 1 || !strings.HasPrefix(r.Reexamined.Items[0], "github.com/acme/payments#99 ") {
				t.Errorf("payments re-examined %v, want #99", r.Reexamined.Items)
			}
			for _, lp := range r.ListedPulls {
				if want := map[int]string{109: PullNotMerged, 110: PullOtherBranch, 111: PullMergedAfter, 98: PullMergedBefore}[lp.Number]; want != "" && lp.Disposition != want {
					t.Errorf("payments #%d: %s, want %s", lp.Number, lp.Disposition, want)
				}
			}
		}
	}

	// Requests: 1 organisation listing; per readable repository 2 listing
	// pages (pull requests, commits); 1 for secret-project's refused
	// listing; 5 per pull request judged (12 in the window, #99
	// re-examined); 1 per commit no pull request accounted for (payments'
	// direct push, web's release push and its first rebased commit).
	if want := 1 + 2*4 + 1 + 5*13 + 3; res.Requests != int64(want) || srv.Requests() != want {
		t.Errorf("requests = %d (fake saw %d), want %d", res.Requests, srv.Requests(), want)
	}
	for path, n := range srv.RequestsByPath() {
		if n != 1 {
			t.Errorf("%s requested %d times, want once", path, n)
		}
	}
}

// TestDeterministicAcrossConcurrency: the facts and findings do not depend
// on how many requests run at once.
func TestDeterministicAcrossConcurrency(t *testing.T) {
	var outputs [][]byte
	for _, n := range []int{1, 3, 16} {
		_, gh := fakeGitHub(t, sampleOrg)
		res := collect(t, newCollector(t, gh, mustTime(caseNow), n), collectors.Scope{Orgs: []string{"acme"}}, week(), NewPolicy())
		outputs = append(outputs, golden.JSON(t, res))
	}
	for i := 1; i < len(outputs); i++ {
		if !bytes.Equal(outputs[0], outputs[i]) {
			t.Fatalf("results differ between concurrency settings: %s", golden.FirstDiff(outputs[0], outputs[i]))
		}
	}
}

// TestWindowBoundaries: [start, end) — merged exactly at the start is in,
// exactly at the end is out, for pull requests and direct pushes alike.
func TestWindowBoundaries(t *testing.T) {
	srv, gh := fakeGitHub(t, "testdata/window-boundaries")
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), apiScope, week(), NewPolicy())
	facts := res.Facts.(*Facts)
	var items []string
	for _, it := range facts.Population.Items {
		items = append(items, strings.Join(strings.Fields(it)[:3], " "))
	}
	want := []string{"github.com/acme/api#60 main 2026-11-16T00:00:00Z", "github.com/acme/api@58448a47f22a main 2026-11-16T00:00:00Z"}
	if !slices.Equal(items, want) {
		t.Errorf("population %v, want %v", items, want)
	}
	if n := srv.RequestsByPath()["/repos/acme/api/pulls/61"]; n != 0 {
		t.Errorf("#61, merged at the window end, was read %d times", n)
	}
}

// TestPaginationStopsEarly: the closed pull requests are sorted by update,
// newest first; once a page holds one updated before the look-back start,
// no further page is read. The commit listing is read to its last page.
func TestPaginationStopsEarly(t *testing.T) {
	srv, gh := fakeGitHub(t, "testdata/pagination-early-stop", ghfake.WithMaxPerPage(2))
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), apiScope, week(), NewPolicy())
	var listed []json.RawMessage
	fx, _ := ghfake.Load("testdata/pagination-early-stop")
	for _, r := range fx.Routes {
		if r.Path == "/repos/acme/api/pulls" {
			_ = json.Unmarshal(r.Body, &listed)
		}
	}
	if len(listed) != 8 {
		t.Fatalf("the fixture lists %d pull requests, want 8 (4 pages of 2)", len(listed))
	}
	byPath := srv.RequestsByPath()
	if byPath["/repos/acme/api/pulls"] != 3 {
		t.Errorf("pull request listing: %d pages read, want 3 of 4", byPath["/repos/acme/api/pulls"])
	}
	if byPath["/repos/acme/api/commits"] != 3 {
		t.Errorf("commit listing: %d pages read, want all 3", byPath["/repos/acme/api/commits"])
	}
	facts := res.Facts.(*Facts)
	l := facts.Repos[0].Pulls
	if l.Pages != 3 || l.Items != 6 || !strings.Contains(l.Stop, "#66") {
		t.Errorf("listing = %+v", l)
	}
	if facts.Population.Count != 5 {
		t.Errorf("population %d, want 4 pull requests and 1 direct push", facts.Population.Count)
	}
}

// TestObjectPagination: check runs come as an object per page; every page
// is read and kept.
func TestObjectPagination(t *testing.T) {
	p := approved(basicPR("acme/api", 7, "alice", "2026-11-18T10:00"), "bob")
	p.Runs = append(p.Runs, fxRun{Name: "ci/test", Conclusion: "failure", Started: "2026-11-18T09:00", Completed: "2026-11-18T09:05"})
	repo := simpleRepo(p)
	ff := repo.build(t, "", true)
	fx := memFixture(ff)
	srv := ghfake.New(fx, ghfake.WithToken(testToken))
	runsPath := srv.BasePath() + "repos/acme/api/commits/" + p.head() + "/check-runs"
	var seen []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != runsPath {
			srv.ServeHTTP(w, r)
			return
		}
		seen = append(seen, r.URL.RawQuery)
		var all struct {
			CheckRuns []json.RawMessage `json:"check_runs"`
		}
		_ = json.Unmarshal(ff.files["pull-7-check-runs.json"], &all)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		if page == 1 {
			q := r.URL.Query()
			q.Set("page", "2")
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?%s>; rel="next"`, r.Host, r.URL.Path, q.Encode()))
		}
		body, _ := json.Marshal(map[string]any{"total_count": len(all.CheckRuns), "check_runs": all.CheckRuns[page-1 : page]})
		w.Write(body)
	})
	_, gh := serveHandler(t, srv, h)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), apiScope, week(), NewPolicy())
	if len(seen) != 2 || !strings.Contains(seen[1], "page=2") {
		t.Fatalf("check run pages requested: %v", seen)
	}
	ch := res.Facts.(*Facts).Repos[0].Changes[0]
	if len(ch.CheckRuns.Pages) != 2 || len(ch.PR.Checks) != 3 {
		t.Errorf("pages %d, checks %d: want 2 pages holding 2 check runs, plus the status", len(ch.CheckRuns.Pages), len(ch.PR.Checks))
	}
	if f := res.Findings[0]; f.Verdict != VerdictBypass || !strings.Contains(f.Summary, "ci/test failure") {
		t.Errorf("the failure on page 2 was not judged: %s", f.Summary)
	}
}

// TestPendingDecidedByNextRun: an emergency change pending at one run is
// re-examined by the next run over the following window, and decided.
func TestPendingDecidedByNextRun(t *testing.T) {
	p := basicPR("acme/api", 9, "dave", "2026-11-21T20:00")
	p.Labels = []string{"emergency"}
	first := fxRepo{Owner: "acme", Name: "api", Pulls: []fxPull{p}, BranchCommits: map[string][]fxCommit{"main": {mergeCommit(p)}}}
	p.Reviews = []fxReview{{User: "bob", State: "APPROVED", At: "2026-11-22T10:00"}}
	p.Updated = "2026-11-22T10:00"
	second := fxRepo{Owner: "acme", Name: "api", Pulls: []fxPull{p}, BranchCommits: map[string][]fxCommit{"main": {}}}

	day := func(d int) schedules.Window {
		return schedules.Window{Start: time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, d+1, 0, 0, 0, 0, time.UTC)}
	}
	_, gh := serveFixture(t, memFixture(first.build(t, "", true)))
	res := collect(t, newCollector(t, gh, mustTime("2026-11-22T00:30"), 0), apiScope, day(21), NewPolicy())
	if f := res.Findings[0]; f.Verdict != VerdictPending || f.Status != evidence.StatusNotVerifiable {
		t.Fatalf("first run: %s %s, want pending", f.Status, f.Verdict)
	}
	_, gh = serveFixture(t, memFixture(second.build(t, "", true)))
	res = collect(t, newCollector(t, gh, mustTime("2026-11-23T00:30"), 0), apiScope, day(22), NewPolicy())
	facts := res.Facts.(*Facts)
	if len(res.Findings) != 1 || res.Findings[0].Verdict != VerdictEmergency || facts.Population.Count != 0 || facts.Repos[0].Reexamined.Count != 1 {
		t.Fatalf("second run: findings %+v, population %d, re-examined %d; want #9 re-examined as emergency outside the population",
			res.Findings, facts.Population.Count, facts.Repos[0].Reexamined.Count)
	}
	// A run that never saw the review decides against it once the grace
	// period is over.
	_, gh = serveFixture(t, memFixture(first.build(t, "", true)))
	res = collect(t, newCollector(t, gh, mustTime("2026-11-23T00:30"), 0), apiScope, day(22), NewPolicy())
	if f := res.Findings[0]; f.Verdict != VerdictUnreviewed {
		t.Errorf("second run without a review: %s", f.Verdict)
	}
}

func TestPopulationDigest(t *testing.T) {
	a := NewPopulation([]string{"github.com/acme/api#2 main 2026-11-17T00:00:00Z bbb", "github.com/acme/api#1 main 2026-11-16T00:00:00Z aaa"})
	b := NewPopulation([]string{"github.com/acme/api#1 main 2026-11-16T00:00:00Z aaa", "github.com/acme/api#2 main 2026-11-17T00:00:00Z bbb"})
	if a.SHA256 != b.SHA256 || a.Count != 2 || !slices.Equal(a.Items, b.Items) {
		t.Errorf("order changes the population: %+v vs %+v", a, b)
	}
	// printf 'github.com/acme/api#1 main 2026-11-16T00:00:00Z aaa\ngithub.com/acme/api#2 main 2026-11-17T00:00:00Z bbb\n' | sha256sum
	if want := sha256hex(strings.Join(b.Items, "\n") + "\n"); a.SHA256 != want {
		t.Errorf("sha256 %s, want %s", a.SHA256, want)
	}
	for _, other := range [][]string{
		{"github.com/acme/api#1 main 2026-11-16T00:00:00Z aaa"},
		{"github.com/acme/api#1 main 2026-11-16T00:00:00Z aaa", "github.com/acme/api#2 main 2026-11-17T00:00:00Z bbc"},
		{"github.com/acme/api#1 main 2026-11-16T00:00:00Z aaa", "github.com/acme/api#2 main 2026-11-17T00:00:01Z bbb"},
		{"github.com/acme/api#1 main 2026-11-16T00:00:00Z aaa", "github.com/acme/api#2 main 2026-11-17T00:00:00Z bbb", "github.com/acme/api#3 main 2026-11-18T00:00:00Z ccc"},
	} {
		if NewPopulation(other).SHA256 == a.SHA256 {
			t.Errorf("%v has the same digest", other)
		}
	}
	if e := NewPopulation(nil); e.Count != 0 || e.SHA256 != sha256hex("") || e.Items == nil {
		t.Errorf("empty population %+v", e)
	}
	// The collector's digest over the sample organisation does not depend
	// on the order GitHub lists the changes in.
	_, gh := fakeGitHub(t, sampleOrg)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 1), collectors.Scope{Orgs: []string{"acme"}}, week(), NewPolicy())
	facts := res.Facts.(*Facts)
	var all []string
	for i := len(facts.Repos) - 1; i >= 0; i-- {
		for j := len(facts.Repos[i].Changes) - 1; j >= 0; j-- {
			if c := facts.Repos[i].Changes[j]; c.Population == InWindow {
				all = append(all, PopulationItem(c))
			}
		}
	}
	if NewPopulation(all).SHA256 != facts.Population.SHA256 {
		t.Error("the population digest depends on order")
	}
}

func TestCollectOrgListingFails(t *testing.T) {
	_, gh := serveFixture(t, &ghfake.Fixture{})
	_, err := newCollector(t, gh, mustTime(caseNow), 0).Collect(context.Background(),
		collectors.Request{Scope: collectors.Scope{Orgs: []string{"nope"}}, Window: week(), Policy: NewPolicy()})
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusNotFound || !strings.Contains(err.Error(), "org nope") {
		t.Errorf("error %v: want a go-github 404 naming the organisation", err)
	}
}

// TestListingFailureFailsCollection: a listing that fails other than by a
// refusal (here 500 after the retries) leaves the population unknown: the
// collection fails rather than judging part of it.
func TestListingFailureFailsCollection(t *testing.T) {
	for _, path := range []string{"/repos/acme/api/pulls", "/repos/acme/api/commits"} {
		t.Run(path, func(t *testing.T) {
			ff := simpleRepo(approved(basicPR("acme/api", 1, "alice", "2026-11-18T10:00"), "bob")).build(t, "", true)
			fx := memFixture(ff)
			for i, r := range fx.Routes {
				if r.Path == path {
					fx.Routes[i].Status, fx.Routes[i].Body = http.StatusInternalServerError, json.RawMessage(`{"message": "Server Error"}`)
				}
			}
			srv, gh := serveFixture(t, fx)
			_, err := newCollector(t, gh, mustTime(caseNow), 0).Collect(context.Background(), collectors.Request{Scope: apiScope, Window: week(), Policy: NewPolicy()})
			var ge *github.ErrorResponse
			if !errors.As(err, &ge) || ge.Response.StatusCode != http.StatusInternalServerError || !strings.Contains(err.Error(), "population is not known") {
				t.Fatalf("err = %v, want a 500 that fails the collection", err)
			}
			if n := srv.RequestsByPath()[path]; n != 1+testRetries {
				t.Errorf("%s requested %d times, want %d (retries)", path, n, 1+testRetries)
			}
		})
	}
}

func TestCollectCancelled(t *testing.T) {
	_, gh := fakeGitHub(t, sampleOrg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := newCollector(t, gh, mustTime(caseNow), 0).Collect(ctx, collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Window: week(), Policy: NewPolicy()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Collect = %v, %v; want context.Canceled", res, err)
	}
}

// TestCollectCancelledMidway cancels while pull requests are being read:
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
		if strings.HasSuffix(r.URL.Path, "/pulls/104/reviews") {
			cancel()
		}
		srv.ServeHTTP(w, r)
	})
	_, gh := serveHandler(t, srv, cancelling)
	_, err = newCollector(t, gh, mustTime(caseNow), 1).Collect(ctx, collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Window: week(), Policy: NewPolicy()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestValidate(t *testing.T) {
	c := New(collectors.Deps{})
	org := collectors.Scope{Orgs: []string{"acme"}}
	bad := NewPolicy()
	bad.BotPRs = "always"
	tests := []struct {
		name string
		req  collectors.Request
		want string
	}{
		{"ok", collectors.Request{Scope: org, Window: week(), Policy: NewPolicy()}, ""},
		{"no scope", collectors.Request{Window: week(), Policy: NewPolicy()}, "no scope"},
		{"bad repo", collectors.Request{Scope: collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "a/b"}}}, Window: week(), Policy: NewPolicy()}, "--repo"},
		{"bad branch", collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}, Branches: []string{"a..b"}}, Window: week(), Policy: NewPolicy()}, "--branch"},
		{"no window", collectors.Request{Scope: org, Policy: NewPolicy()}, "window"},
		{"inverted window", collectors.Request{Scope: org, Window: schedules.Window{Start: week().End, End: week().Start}, Policy: NewPolicy()}, "window"},
		{"policy value", collectors.Request{Scope: org, Window: week(), Policy: DefaultPolicy()}, "want *mergeactivity.Policy"},
		{"nil policy", collectors.Request{Scope: org, Window: week(), Policy: (*Policy)(nil)}, "want *mergeactivity.Policy"},
		{"invalid policy", collectors.Request{Scope: org, Window: week(), Policy: bad}, `bot_prs is "always"`},
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
	if _, err := c.Collect(context.Background(), collectors.Request{Scope: org, Window: week(), Policy: NewPolicy()}); err == nil {
		t.Error("Collect without a GitHub client succeeded")
	}
}

func TestInfo(t *testing.T) {
	info := Info()
	if info.Name != "merge-activity" || info.Description == "" || info.New == nil {
		t.Fatalf("Info() = %+v", info)
	}
	c := info.New(collectors.Deps{})
	if c.Name() != "merge-activity" || c.Version() != "1.2.0" {
		t.Errorf("Name, Version = %q, %q", c.Name(), c.Version())
	}
	if _, ok := c.NewPolicy().(*Policy); !ok {
		t.Errorf("NewPolicy() is %T, want *Policy", c.NewPolicy())
	}
	r := collectors.NewRegistry()
	r.Register(info)
	if _, err := r.Lookup("merge-activity"); err != nil {
		t.Error(err)
	}
}

// bigRepo is acme/big: n pull requests squash-merged into main in the demo
// week, each approved and green, and 50 older ones.
func bigRepo(n int) fxRepo {
	start := mustTime(weekStart)
	step := mustTime(weekEnd).Sub(start) / time.Duration(n+1)
	r := fxRepo{Owner: "acme", Name: "big"}
	for i := range n + 50 {
		num := i + 1
		var m string
		if i < 50 {
			m = at(start.Add(-48*time.Hour - time.Duration(50-i)*time.Hour))
		} else {
			m = at(start.Add(time.Duration(i-49) * step))
		}
		r.Pulls = append(r.Pulls, approved(basicPR("acme/big", num, "alice", m), "bob"))
	}
	r.BranchCommits = map[string][]fxCommit{"main": mainCommits([2]string{weekStart, weekEnd}, r.Pulls)}
	return r
}

// requestsFormula is the documented cost of a collection of one repository
// named with --repo: 1 lookup, the pull request listing pages (one per 100
// pull requests updated since the look-back start, plus the page showing
// the first older one), the commit listing pages (one per 100 commits), and
// 5 per pull request judged; here no commit needs asking about.
func requestsFormula(listed, commits, judged int) int {
	return 1 + (listed/100 + 1) + max((commits+99)/100, 1) + 5*judged
}

// Test500MergedPRs measures the requests per merged pull request on a
// generated repository with 500 of them, and holds it to the formula.
func Test500MergedPRs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 500-pull-request fixture")
	}
	r := bigRepo(500)
	srv, gh := serveFixture(t, memFixture(r.build(t, "", true)))
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "big"}}}, week(), NewPolicy())
	facts := res.Facts.(*Facts)
	if facts.Population.Count != 500 || len(res.Findings) != 500 {
		t.Fatalf("population %d, findings %d; want 500", facts.Population.Count, len(res.Findings))
	}
	for _, f := range res.Findings {
		if f.Verdict != VerdictApproved {
			t.Fatalf("%s: %s %s", f.Target, f.Verdict, f.Summary)
		}
	}
	want := requestsFormula(500, 500, 500)
	if res.Requests != int64(want) || srv.Requests() != want {
		t.Errorf("requests = %d, want %d", res.Requests, want)
	}
	if got := srv.RequestsByPath()["/repos/acme/big/pulls"]; got != 6 {
		t.Errorf("listing pages = %d, want 6 (500 in the window, then the page with the first older one)", got)
	}
	t.Logf("500 merged pull requests: %d requests, %.3f per merged pull request", res.Requests, float64(res.Requests)/500)
}
