package gqlfake_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/gqlfake"
)

// The world of these tests: acme/app with five pull requests, in the REST
// shapes GitHub documents (only the members the fake reads, and a few it
// must ignore).
//
//	#1 merged, by alice, merged by bob, label bug, 2 reviews, 2 commits
//	   (the second by a bot), head h1 with 4 check runs in 3 suites and 2
//	   statuses
//	#2 closed unmerged    #3 open
//	#4 merged, by dependabot[bot], merged by the organisation, reviews 403
//	#5 merged, updated at the same time as #4
func account(login, typ string) map[string]any {
	return map[string]any{"login": login, "id": len(login) * 1000, "type": typ, "html_url": "https://github.com/" + login, "site_admin": false}
}

func pullItem(n int, state, updated string, merged any, author map[string]any, head string) map[string]any {
	return map[string]any{
		"id": 9000 + n, "number": n, "state": state, "title": "Change " + string(rune('A'+n)),
		"html_url": "https://github.com/acme/app/pull/" + string(rune('0'+n)),
		"user":     author, "labels": []any{}, "body": nil, "draft": false,
		"created_at": "2026-01-01T00:00:0" + string(rune('0'+n)) + "Z", "updated_at": updated,
		"closed_at": merged, "merged_at": merged, "merge_commit_sha": "m" + string(rune('0'+n)),
		"base": map[string]any{"ref": "main", "sha": "b0"}, "head": map[string]any{"ref": "topic", "sha": head},
	}
}

func world() []ghfake.Route {
	alice, bob := account("alice", "User"), account("bob", "User")
	p1 := pullItem(1, "closed", "2026-01-02T00:00:00Z", "2026-01-01T10:00:00Z", alice, "h1")
	p1["labels"] = []any{map[string]any{"name": "bug", "color": "d73a4a", "description": nil}}
	p2 := pullItem(2, "closed", "2026-01-03T00:00:00Z", nil, alice, "h2")
	p3 := pullItem(3, "open", "2026-01-04T00:00:00Z", nil, bob, "h3")
	p3["closed_at"] = nil
	p4 := pullItem(4, "closed", "2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z", account("dependabot[bot]", "Bot"), "h4")
	p5 := pullItem(5, "closed", "2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z", alice, "h5")
	listing := []any{p5, p4, p3, p2, p1} // REST: updated desc
	withMergedBy := func(p map[string]any, by map[string]any) map[string]any {
		q := map[string]any{"merged_by": by, "merged": true}
		for k, v := range p {
			q[k] = v
		}
		return q
	}
	commit := func(sha, author string, authorAccount any, date string) map[string]any {
		return map[string]any{
			"sha": sha, "html_url": "https://github.com/acme/app/commit/" + sha,
			"commit": map[string]any{
				"message":   "Commit " + sha + "\n\nBody.",
				"author":    map[string]any{"name": author, "email": author + "@example.com", "date": date},
				"committer": map[string]any{"name": "GitHub", "email": "noreply@github.com", "date": date},
			},
			"author": authorAccount, "committer": account("web-flow", "User"),
		}
	}
	run := func(id int, name string, suite int, app, started, conclusion string) map[string]any {
		r := map[string]any{
			"id": id, "name": name, "status": "completed", "conclusion": conclusion,
			"started_at": started, "completed_at": started, "details_url": "https://ci.example.com/" + name,
			"html_url": "https://github.com/acme/app/runs/1", "head_sha": "h1",
			"app": map[string]any{"id": len(app), "slug": app, "name": strings.ToUpper(app)},
		}
		if suite != 0 {
			r["check_suite"] = map[string]any{"id": suite}
		}
		return r
	}
	emptyStatus := map[string]any{"state": "pending", "statuses": []any{}, "total_count": 0, "sha": "x"}
	return []ghfake.Route{
		route("/repos/acme/app", map[string]any{"id": 77, "name": "app", "full_name": "acme/app", "private": true, "archived": false, "html_url": "https://github.com/acme/app", "owner": account("acme", "Organization")}),
		{Path: "/repos/acme/app/pulls", Query: map[string]string{"state": "closed", "sort": "updated", "direction": "desc"}, Body: mustJSON([]any{p5, p4, p2, p1})},
		{Path: "/repos/acme/app/pulls", Query: map[string]string{"state": "all", "sort": "updated", "direction": "desc"}, Body: mustJSON(listing)},
		route("/repos/acme/app/pulls/1", withMergedBy(p1, bob)),
		route("/repos/acme/app/pulls/4", withMergedBy(p4, account("acme", "Organization"))),
		route("/repos/acme/app/pulls/5", withMergedBy(p5, alice)),
		route("/repos/acme/app/pulls/1/reviews", []any{
			map[string]any{"id": 11, "user": bob, "state": "CHANGES_REQUESTED", "body": "No.", "submitted_at": "2026-01-01T08:00:00Z", "commit_id": "c1", "html_url": "https://github.com/r/11"},
			map[string]any{"id": 12, "user": bob, "state": "APPROVED", "body": "", "submitted_at": "2026-01-01T09:00:00Z", "commit_id": "h1", "html_url": "https://github.com/r/12"},
		}),
		route("/repos/acme/app/pulls/1/commits", []any{
			commit("c1", "alice", alice, "2026-01-01T07:00:00Z"),
			commit("h1", "renovate", account("renovate[bot]", "Bot"), "2026-01-01T08:30:00Z"),
		}),
		route("/repos/acme/app/commits/m1", commit("m1", "alice", alice, "2026-01-01T10:00:00Z")),
		route("/repos/acme/app/commits/m4", commit("m4", "dependabot", nil, "2026-01-05T00:00:00Z")),
		route("/repos/acme/app/commits/m5", commit("m5", "alice", alice, "2026-01-05T00:00:00Z")),
		route("/repos/acme/app/commits/h1/check-runs", map[string]any{"total_count": 5, "check_runs": []any{
			run(101, "build", 7, "ci", "2026-01-01T08:40:00Z", "failure"),
			run(103, "lint", 8, "other", "2026-01-01T08:41:00Z", "success"),
			run(102, "build", 7, "ci", "2026-01-01T08:50:00Z", "success"),
			run(104, "ext", 0, "ext", "2026-01-01T08:42:00Z", "neutral"),
			run(105, "ext2", 0, "ext", "2026-01-01T08:43:00Z", "skipped"),
		}}),
		route("/repos/acme/app/commits/h1/status", map[string]any{"state": "failure", "sha": "h1", "total_count": 2, "statuses": []any{
			map[string]any{"context": "ci/a", "state": "success", "created_at": "2026-01-01T08:45:00Z", "description": "ok", "target_url": "https://ci/a"},
			map[string]any{"context": "ci/b", "state": "failure", "created_at": "2026-01-01T08:46:00Z", "description": nil, "target_url": nil},
		}}),
		failing("/repos/acme/app/pulls/4/reviews", http.StatusForbidden),
		route("/repos/acme/app/pulls/4/commits", []any{commit("h4", "dependabot", account("dependabot[bot]", "Bot"), "2026-01-04T00:00:00Z")}),
		route("/repos/acme/app/commits/h4/check-runs", map[string]any{"total_count": 0, "check_runs": []any{}}),
		route("/repos/acme/app/commits/h4/status", emptyStatus),
		route("/repos/acme/app/pulls/5/reviews", []any{}),
		route("/repos/acme/app/pulls/5/commits", []any{commit("h5", "alice", alice, "2026-01-04T00:00:00Z")}),
		route("/repos/acme/app/commits/h5/check-runs", map[string]any{"total_count": 0, "check_runs": []any{}}),
		route("/repos/acme/app/commits/h5/status", emptyStatus),
	}
}

func mustJSON(v any) []byte {
	r := route("/", v)
	return r.Body
}

const path = "/graphql"

func handler(t testing.TB, extra ...ghfake.Route) (*gqlfake.Handler, *restCalls) {
	t.Helper()
	rest, calls := fakeREST(append(world(), extra...)...)
	return gqlfake.New(rest), calls
}

func TestSelectionOrderAliasesTypenameAndFragments(t *testing.T) {
	h, _ := handler(t)
	a := post(t, h, path, `
		query Q($n: String!) {
		  r: repository(owner: "acme", name: $n) {
		    __typename nameWithOwner isPrivate
		    pullRequests(states: [MERGED], first: 1, orderBy: {field: CREATED_AT, direction: ASC}) {
		      nodes {
		        title
		        n: number
		        author { __typename ...who ... on User { databaseId } }
		        number
		        skipped: title @skip(if: true)
		        kept: title @include(if: true)
		      }
		    }
		  }
		}
		fragment who on Actor { login }`, map[string]any{"n": "app"})
	if a.status != http.StatusOK || len(a.Errors) > 0 {
		t.Fatalf("%d %v\n%s", a.status, a.Errors, a.raw)
	}
	want := `{"data":{"r":{"__typename":"Repository","nameWithOwner":"acme/app","isPrivate":true,"pullRequests":{"nodes":[` +
		`{"title":"Change B","n":1,"author":{"__typename":"User","login":"alice","databaseId":5000},"number":1,"kept":"Change B"}]}}}}`
	if a.raw != want {
		t.Errorf("answer\n%s\nwant\n%s", a.raw, want)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}

const everything = `query($after: String, $states: [PullRequestState!], $first: Int!) {
  repository(owner: "acme", name: "app") {
    pullRequests(states: $states, orderBy: {field: UPDATED_AT, direction: DESC}, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { number } }
      nodes {
        number state merged mergedAt closedAt headRefOid baseRefName headRefName url databaseId
        author { __typename login }
        mergedBy { __typename login }
        mergeCommit { oid messageHeadline committedDate }
        labels(first: 10) { totalCount nodes { name color description } }
        reviews(first: 10) { totalCount nodes { databaseId state submittedAt body author { login } commit { oid } } }
        commits(first: 10) { totalCount nodes { commit { oid message author { name email date user { login } } committer { user { login } } } } }
        last: commits(last: 1) {
          nodes { commit {
            oid
            checkSuites(first: 10) { totalCount nodes { databaseId app { slug name }
              latest: checkRuns(first: 10) { nodes { databaseId } }
              all: checkRuns(first: 10, filterBy: {checkType: ALL}) { totalCount nodes { databaseId name status conclusion startedAt completedAt detailsUrl } } } }
            status { state contexts { context state createdAt description targetUrl } }
          } }
        }
      }
    }
  }
}`

// TestFieldsFromREST: every implemented field of the world, as GitHub
// presents the REST data.
func TestFieldsFromREST(t *testing.T) {
	h, _ := handler(t)
	a := post(t, h, path, everything, map[string]any{"states": []string{"MERGED"}, "first": 10})
	if a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	conn := at(a.Data, "repository", "pullRequests")
	nodes := list(at(conn, "nodes"))
	var numbers []string
	for _, n := range nodes {
		numbers = append(numbers, str(at(n, "number")))
	}
	// Merged only, updated desc, the tie (#4, #5 at the same time) by number.
	if got := strings.Join(numbers, ","); got != "5,4,1" || str(at(conn, "totalCount")) != "3" {
		t.Fatalf("merged pull requests %s (total %v), want 5,4,1", got, at(conn, "totalCount"))
	}
	if str(at(conn, "edges", 2, "node", "number")) != "1" || at(conn, "edges", 0, "cursor") != at(conn, "pageInfo", "startCursor") {
		t.Errorf("edges %v, pageInfo %v", at(conn, "edges"), at(conn, "pageInfo"))
	}
	p1, p4 := nodes[2], nodes[1]
	checks := []struct {
		got  any
		want string
	}{
		{at(p1, "state"), "MERGED"}, {at(p1, "merged"), "true"}, {at(p1, "mergedAt"), "2026-01-01T10:00:00Z"},
		{at(p1, "headRefOid"), "h1"}, {at(p1, "baseRefName"), "main"}, {at(p1, "databaseId"), "9001"},
		{at(p1, "author", "login"), "alice"}, {at(p1, "mergedBy", "login"), "bob"},
		{at(p1, "mergeCommit", "oid"), "m1"}, {at(p1, "mergeCommit", "messageHeadline"), "Commit m1"},
		{at(p1, "mergeCommit", "committedDate"), "2026-01-01T10:00:00Z"},
		{at(p1, "labels", "nodes", 0, "name"), "bug"}, {at(p1, "labels", "nodes", 0, "description"), "<null>"},
		{at(p1, "reviews", "totalCount"), "2"}, {at(p1, "reviews", "nodes", 0, "databaseId"), "11"},
		{at(p1, "reviews", "nodes", 0, "state"), "CHANGES_REQUESTED"}, {at(p1, "reviews", "nodes", 1, "commit", "oid"), "h1"},
		{at(p1, "commits", "nodes", 0, "commit", "author", "user", "login"), "alice"},
		{at(p1, "commits", "nodes", 0, "commit", "author", "email"), "alice@example.com"},
		{at(p1, "commits", "nodes", 0, "commit", "message"), "Commit c1\n\nBody."},
		// A bot is no User: GitActor.user is null for it.
		{at(p1, "commits", "nodes", 1, "commit", "author", "user"), "<null>"},
		{at(p1, "commits", "nodes", 1, "commit", "committer", "user", "login"), "web-flow"},
		{at(p1, "last", "nodes", 0, "commit", "oid"), "h1"},
		// Bots lose REST's [bot]; an organisation is an Organization.
		{at(p4, "author", "__typename"), "Bot"}, {at(p4, "author", "login"), "dependabot"},
		{at(p4, "mergedBy", "__typename"), "Organization"}, {at(p4, "mergedBy", "login"), "acme"},
		// No statuses: status is null, as on GitHub.
		{at(nodes[0], "last", "nodes", 0, "commit", "status"), "<null>"},
	}
	for i, c := range checks {
		if str(c.got) != c.want {
			t.Errorf("check %d: got %q, want %q", i, str(c.got), c.want)
		}
	}
	commit := at(p1, "last", "nodes", 0, "commit")
	suites := list(at(commit, "checkSuites", "nodes"))
	var got []string
	for _, s := range suites {
		var latest, all []string
		for _, r := range list(at(s, "latest", "nodes")) {
			latest = append(latest, str(at(r, "databaseId")))
		}
		for _, r := range list(at(s, "all", "nodes")) {
			all = append(all, str(at(r, "databaseId"))+"/"+str(at(r, "conclusion")))
		}
		got = append(got, str(at(s, "databaseId"))+" "+str(at(s, "app", "slug"))+" latest "+strings.Join(latest, ",")+" all "+strings.Join(all, ","))
	}
	// Suites by check_suite.id in order of first appearance, runs without
	// one grouped by app; LATEST keeps the newest run of each name.
	want := []string{
		"7 ci latest 102 all 101/FAILURE,102/SUCCESS",
		"8 other latest 103 all 103/SUCCESS",
		"<null> ext latest 104,105 all 104/NEUTRAL,105/SKIPPED",
	}
	if !slices.Equal(got, want) {
		t.Errorf("check suites\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r := at(suites[0], "all", "nodes", 0); str(at(r, "status")) != "COMPLETED" || str(at(r, "detailsUrl")) != "https://ci.example.com/build" {
		t.Errorf("check run %v", r)
	}
	st := at(commit, "status")
	if str(at(st, "state")) != "FAILURE" || str(at(st, "contexts", 1, "context")) != "ci/b" || str(at(st, "contexts", 1, "state")) != "FAILURE" ||
		str(at(st, "contexts", 0, "createdAt")) != "2026-01-01T08:45:00Z" || str(at(st, "contexts", 1, "targetUrl")) != "<null>" {
		t.Errorf("status %v", st)
	}
	// #4's reviews answer 403 over REST: null, FORBIDDEN at its path.
	if at(p4, "reviews") != nil {
		t.Errorf("#4 reviews %v, want null", at(p4, "reviews"))
	}
	e, ok := a.findError(gqlfake.TypeForbidden, "repository", "pullRequests", "nodes", 1, "reviews")
	if !ok || e.Message != "Resource not accessible by integration" || len(e.Locations) != 1 {
		t.Errorf("errors %v, want FORBIDDEN at repository.pullRequests.nodes.1.reviews", a.Errors)
	}
	if len(a.Errors) != 1 {
		t.Errorf("errors %v, want only the FORBIDDEN", a.Errors)
	}
}

// TestStatesAndOrder: OPEN, CLOSED and MERGED filter as GitHub does; no
// states is every pull request; orders are stable.
func TestStatesAndOrder(t *testing.T) {
	h, _ := handler(t)
	for _, c := range []struct {
		args, want string
	}{
		{`states: [OPEN]`, "3"},
		{`states: [CLOSED]`, "2"},
		{`states: [MERGED, CLOSED], orderBy: {field: UPDATED_AT, direction: ASC}`, "1,2,4,5"},
		{``, "1,2,3,4,5"},
		{`orderBy: {field: CREATED_AT, direction: DESC}`, "5,4,3,2,1"},
		{`baseRefName: "main", headRefName: "nope"`, ""},
	} {
		a := post(t, h, path, `{ repository(owner: "acme", name: "app") { pullRequests(first: 10 `+c.args+`) { nodes { number } } } }`, nil)
		var got []string
		for _, n := range list(at(a.Data, "repository", "pullRequests", "nodes")) {
			got = append(got, str(at(n, "number")))
		}
		if strings.Join(got, ",") != c.want || len(a.Errors) > 0 {
			t.Errorf("%s: %v %v, want %s", c.args, got, a.Errors, c.want)
		}
	}
}

// TestPagination: first=2 pages through every pull request exactly once;
// last and before page backwards; a bad cursor is
// INVALID_CURSOR_ARGUMENTS.
func TestPagination(t *testing.T) {
	h, _ := handler(t)
	q := `query($after: String, $before: String, $first: Int, $last: Int) { repository(owner: "acme", name: "app") {
		pullRequests(first: $first, last: $last, after: $after, before: $before) {
			pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { number } } } }`
	var seen []string
	vars := map[string]any{"first": 2}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		a := post(t, h, path, q, vars)
		c := at(a.Data, "repository", "pullRequests")
		for _, n := range list(at(c, "nodes")) {
			seen = append(seen, str(at(n, "number")))
		}
		if (pages > 0) != (at(c, "pageInfo", "hasPreviousPage") == true) {
			t.Errorf("page %d: hasPreviousPage %v", pages, at(c, "pageInfo", "hasPreviousPage"))
		}
		if at(c, "pageInfo", "hasNextPage") != true {
			break
		}
		vars["after"] = at(c, "pageInfo", "endCursor")
	}
	if strings.Join(seen, ",") != "1,2,3,4,5" {
		t.Errorf("pages gave %v, want each pull request once", seen)
	}
	a := post(t, h, path, q, map[string]any{"last": 2})
	if got := list(at(a.Data, "repository", "pullRequests", "nodes")); len(got) != 2 || str(at(got[0], "number")) != "4" {
		t.Errorf("last: 2 gave %v", got)
	}
	before := at(a.Data, "repository", "pullRequests", "pageInfo", "startCursor")
	a = post(t, h, path, q, map[string]any{"last": 2, "before": before})
	if got := list(at(a.Data, "repository", "pullRequests", "nodes")); len(got) != 2 || str(at(got[1], "number")) != "3" {
		t.Errorf("last: 2 before %v gave %v", before, got)
	}
	a = post(t, h, path, q, map[string]any{"first": 2, "after": "not-a-cursor"})
	e, ok := a.findError(gqlfake.TypeInvalidCursor, "repository", "pullRequests")
	if !ok || e.Message != "`not-a-cursor` does not appear to be a valid cursor." || at(a.Data, "repository", "pullRequests") != nil {
		t.Errorf("a bad cursor: %s", a.raw)
	}
}

// TestConnectionLimits: GitHub's first/last rules, refused before
// execution with GitHub's messages and no data.
func TestConnectionLimits(t *testing.T) {
	h, calls := handler(t)
	for _, c := range []struct {
		query, typ, msg string
		path            []any
	}{
		{`{ repository(owner: "acme", name: "app") { pullRequests { totalCount } } }`, gqlfake.TypeMissingPagination,
			"You must provide a `first` or `last` value to properly paginate the `pullRequests` connection.", []any{"repository", "pullRequests"}},
		{`{ repository(owner: "acme", name: "app") { pullRequests(first: 101) { totalCount } } }`, gqlfake.TypeExcessivePaging,
			"Requesting 101 records on the `pullRequests` connection exceeds the `first` limit of 100 records.", []any{"repository", "pullRequests"}},
		{`{ repository(owner: "acme", name: "app") { pullRequests(first: 1) { nodes { r: reviews(last: 500) { totalCount } } } } }`, gqlfake.TypeExcessivePaging,
			"Requesting 500 records on the `reviews` connection exceeds the `last` limit of 100 records.", []any{"repository", "pullRequests", "nodes", "r"}},
		{`{ repository(owner: "acme", name: "app") { pullRequests(first: 100) { nodes { commits(first: 100) { nodes { commit {
			checkSuites(first: 100) { nodes { checkRuns(first: 100) { totalCount } } } } } } } } } }`, gqlfake.TypeMaxNodeLimit,
			"By the time this query traverses to the checkSuites connection, it is requesting up to 1,010,100 possible nodes which exceeds the maximum limit of 500,000.",
			[]any{"repository", "pullRequests", "nodes", "commits", "nodes", "commit", "checkSuites"}},
		{`{ repository(owner: "acme", name: "app") { pullRequests(first: 1, last: 1) { totalCount } } }`, "",
			"Passing both `first` and `last` to paginate the `pullRequests` connection is not supported.", []any{"repository", "pullRequests"}},
	} {
		a := post(t, h, path, c.query, nil)
		if a.status != http.StatusOK || a.Data != nil || strings.Contains(a.raw, `"data"`) {
			t.Errorf("%s: %d %s, want 200 and no data", c.msg, a.status, a.raw)
		}
		if e, ok := a.findError(c.typ, c.path...); !ok || e.Message != c.msg || len(e.Locations) != 1 {
			t.Errorf("errors %v\nwant %s %v %q", a.Errors, c.typ, c.path, c.msg)
		}
	}
	if calls.count("/repos/acme/app") != 0 {
		t.Error("a refused query called the REST API")
	}
}

// TestNotImplementedIsNamed: a field, an argument or an input member the
// fake does not implement is refused before any REST call, naming
// Type.field; a fragment on a type the fake never resolves is not.
func TestNotImplementedIsNamed(t *testing.T) {
	h, calls := handler(t)
	for query, want := range map[string]string{
		`{ viewer { login } }`: "gqlfake does not implement Query.viewer",
		`{ repository(owner: "acme", name: "app") { pullRequests(first: 1) { nodes { number files(first: 1) { totalCount } } } } }`:                                                                                       "gqlfake does not implement PullRequest.files",
		`{ repository(owner: "acme", name: "app") { pullRequests(first: 1) { nodes { author { avatarUrl } } } } }`:                                                                                                        "gqlfake does not implement User.avatarUrl",
		`{ repository(owner: "acme", name: "app") { pullRequests(first: 1, labels: ["x"]) { totalCount } } }`:                                                                                                             "gqlfake does not implement the argument labels of Repository.pullRequests",
		`{ repository(owner: "acme", name: "app") { pullRequests(first: 1, orderBy: {field: COMMENTS, direction: ASC}) { totalCount } } }`:                                                                                "gqlfake does not implement IssueOrder.field COMMENTS",
		`{ repository(owner: "acme", name: "app") { pullRequests(first: 1) { nodes { reviews(first: 1, states: [APPROVED]) { totalCount } } } } }`:                                                                        "gqlfake does not implement the argument states of PullRequest.reviews",
		`query { repository(owner: "acme", name: "app") { pullRequests(first: 1) { nodes { mergeCommit { checkSuites(first: 1) { nodes { checkRuns(first: 1, filterBy: {status: COMPLETED}) { totalCount } } } } } } } }`: "gqlfake does not implement CheckRunFilter.status",
		`mutation { addStar(input: {starrableId: "x"}) { clientMutationId } }`:                                                                                                                                            "gqlfake does not implement Mutation.addStar",
	} {
		a := post(t, h, path, query, nil)
		found := false
		for _, e := range a.Errors {
			found = found || (e.Type == gqlfake.TypeNotImplemented && e.Message == want)
		}
		if a.status != http.StatusOK || a.Data != nil || !found {
			t.Errorf("%s:\n%d %s\nwant an error %q and no data", query, a.status, a.raw, want)
		}
	}
	if calls.count("/repos/acme/app") != 0 {
		t.Error("a refused query called the REST API")
	}
	a := post(t, h, path, `{ repository(owner: "acme", name: "app") { pullRequests(first: 1) { nodes { author { login ... on Mannequin { email } } } } } }`, nil)
	if len(a.Errors) > 0 || str(at(a.Data, "repository", "pullRequests", "nodes", 0, "author", "login")) != "alice" {
		t.Errorf("a fragment on Mannequin: %s", a.raw)
	}
}

// TestRequestErrors: GitHub's answers to what is not a query.
func TestRequestErrors(t *testing.T) {
	h, _ := handler(t)
	if a := send(t, h, http.MethodGet, path, nil); a.status != http.StatusNotFound || !strings.Contains(a.raw, `"message":"Not Found"`) {
		t.Errorf("GET: %d %s", a.status, a.raw)
	}
	for _, body := range []string{`{"query": `, `not json`, `{"query": "{}"} trailing`, `["query"]`} {
		if a := send(t, h, http.MethodPost, path, []byte(body)); a.status != http.StatusBadRequest || !strings.Contains(a.raw, `"message":"Problems parsing JSON"`) {
			t.Errorf("%s: %d %s", body, a.status, a.raw)
		}
	}
	if a := send(t, h, http.MethodPost, path, []byte(`{"variables": {}}`)); a.status != http.StatusOK || len(a.Errors) != 1 || a.Data != nil {
		t.Errorf("no query: %d %s", a.status, a.raw)
	}
	a := post(t, h, path, "query {\n  repository(owner: \"acme\", name: \"app\") {\n    nam\n  }\n}", nil)
	if a.status != http.StatusOK || a.Data != nil || len(a.Errors) != 1 {
		t.Fatalf("an invalid query: %d %s", a.status, a.raw)
	}
	e := a.Errors[0]
	if e.Message != "Field 'nam' doesn't exist on type 'Repository'" || str(e.Extensions["code"]) != "undefinedField" ||
		str(e.Extensions["fieldName"]) != "nam" || str(at(e.Locations, 0, "line")) != "3" || str(at(e.Locations, 0, "column")) != "5" {
		t.Errorf("an invalid query's error: %s", a.raw)
	}
	a = post(t, h, path, `query($first: Int!) { repository(owner: "acme", name: "app") { pullRequests(first: $first) { totalCount } } }`, map[string]any{"first": "many"})
	if a.status != http.StatusOK || a.Data != nil || len(a.Errors) != 1 || !strings.Contains(a.Errors[0].Message, "$first") {
		t.Errorf("a bad variable: %d %s", a.status, a.raw)
	}
	a = post(t, h, path, `query A { __typename } query B { __typename }`, nil)
	if a.Data != nil || len(a.Errors) != 1 || a.Errors[0].Message != "An operation name is required" {
		t.Errorf("two operations, no name: %s", a.raw)
	}
}

// TestErrorsInsideData: a repository REST does not have is null with
// NOT_FOUND; REST failures other than 403 and 404 fail the whole answer
// with a 502 a client retries.
func TestErrorsInsideData(t *testing.T) {
	h, _ := handler(t)
	a := post(t, h, path, `{ repository(owner: "acme", name: "gone") { name } }`, nil)
	e, ok := a.findError(gqlfake.TypeNotFound, "repository")
	if a.status != http.StatusOK || !ok || e.Message != "Could not resolve to a Repository with the name 'acme/gone'." ||
		!strings.Contains(a.raw, `"data":{"repository":null}`) {
		t.Errorf("a missing repository: %d %s", a.status, a.raw)
	}
	for name, r := range map[string]ghfake.Route{
		"500":          failing("/repos/acme/app/pulls/5/commits", http.StatusInternalServerError),
		"422":          failing("/repos/acme/app/pulls/5/commits", http.StatusUnprocessableEntity),
		"invalid JSON": {Path: "/repos/acme/app/pulls/5/commits", Body: []byte(`[{"sha": `)},
		"wrong shape":  {Path: "/repos/acme/app/pulls/5/commits", Body: []byte(`{"sha": "x"}`)},
	} {
		rest, _ := fakeREST(append([]ghfake.Route{r}, world()...)...)
		a := post(t, gqlfake.New(rest), path, `{ repository(owner: "acme", name: "app") { pullRequests(first: 5) { nodes { number commits(first: 1) { totalCount } } } } }`, nil)
		if a.status != http.StatusBadGateway || strings.Contains(a.raw, "Change") || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s inside: %d %s, want 502 and no data", name, a.status, a.raw)
		}
	}
}

// TestRESTOnlyWhenSelectedAndOnce: a resource is read only when a
// selected field needs it, and once per query however often it is
// selected.
func TestRESTOnlyWhenSelectedAndOnce(t *testing.T) {
	h, calls := handler(t)
	post(t, h, path, `{ repository(owner: "acme", name: "app") { pullRequests(first: 10, states: [MERGED]) { nodes { number author { login } mergeCommit { oid } } } } }`, nil)
	for _, p := range []string{"/repos/acme/app/pulls/1", "/repos/acme/app/pulls/1/reviews", "/repos/acme/app/commits/m1", "/repos/acme/app/commits/h1/status"} {
		if n := calls.count(p); n != 0 {
			t.Errorf("%s read %d times though nothing selected needs it", p, n)
		}
	}
	post(t, h, path, `{ repository(owner: "acme", name: "app") { pullRequests(first: 10, states: [MERGED]) { nodes {
		a: mergedBy { login } b: mergedBy { login } mergeCommit { oid message }
		x: commits(first: 1) { totalCount } y: commits(last: 1) { totalCount } } } } }`, nil)
	for p, want := range map[string]int{
		"/repos/acme/app/pulls/1":         1,
		"/repos/acme/app/commits/m1":      1,
		"/repos/acme/app/pulls/1/commits": 1, // one short page: the last
		"/repos/acme/app":                 2, // once per query
	} {
		if n := calls.count(p); n != want {
			t.Errorf("%s read %d times, want %d", p, n, want)
		}
	}
	if n := calls.count("/repos/acme/app/pulls/2"); n != 0 {
		t.Errorf("an unmerged pull request's merged_by read %d times", n)
	}
}

// TestConcurrentQueries: one Handler answers queries from many goroutines
// (run with -race), each the same answer.
func TestConcurrentQueries(t *testing.T) {
	h, _ := handler(t)
	want := post(t, h, path, everything, map[string]any{"first": 10}).raw
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if got := post(t, h, path, everything, map[string]any{"first": 10}).raw; got != want {
				t.Error("a concurrent answer differs")
			}
		})
	}
	wg.Wait()
}

// TestRESTListingsReadWhole: listings longer than a REST page are read
// page by page, arrays and listings inside objects alike.
func TestRESTListingsReadWhole(t *testing.T) {
	var pulls, runs []any
	for i := 1; i <= 205; i++ {
		p := pullItem(i, "closed", "2026-01-02T00:00:00Z", "2026-01-01T10:00:00Z", account("alice", "User"), "big")
		p["number"], p["created_at"] = i, "2026-01-01T00:00:00Z"
		pulls = append(pulls, p)
	}
	for i := 1; i <= 130; i++ {
		runs = append(runs, map[string]any{"id": i, "name": "job", "status": "completed", "conclusion": "success",
			"started_at": "2026-01-01T08:40:00Z", "check_suite": map[string]any{"id": 1}})
	}
	rest, calls := fakeREST(
		route("/repos/acme/big", map[string]any{"id": 1, "name": "big", "full_name": "acme/big"}),
		route("/repos/acme/big/pulls", pulls),
	)
	a := post(t, gqlfake.New(rest), path, `{ repository(owner: "acme", name: "big") { pullRequests(first: 1, states: [MERGED]) {
		totalCount nodes { number } } } }`, nil)
	if c := at(a.Data, "repository", "pullRequests"); str(at(c, "totalCount")) != "205" || str(at(c, "nodes", 0, "number")) != "1" {
		t.Errorf("pull requests: %s", a.raw)
	}
	if n := calls.count("/repos/acme/big/pulls"); n != 3 {
		t.Errorf("%d pages of pulls read, want 3", n)
	}
	rest2, calls2 := fakeREST(
		route("/repos/acme/big", map[string]any{"id": 1, "name": "big", "full_name": "acme/big"}),
		route("/repos/acme/big/pulls", pulls[:1]),
		route("/repos/acme/big/pulls/1/commits", []any{map[string]any{"sha": "big", "commit": map[string]any{"message": "m"}}}),
		route("/repos/acme/big/commits/big/check-runs", map[string]any{"total_count": len(runs), "check_runs": runs}),
	)
	a = post(t, gqlfake.New(rest2), path, `{ repository(owner: "acme", name: "big") { pullRequests(first: 1) { nodes {
		commits(last: 1) { nodes { commit { checkSuites(first: 1) { nodes { checkRuns(first: 1, filterBy: {checkType: ALL}) { totalCount } } } } } } } } } }`, nil)
	if got := str(at(a.Data, "repository", "pullRequests", "nodes", 0, "commits", "nodes", 0, "commit", "checkSuites", "nodes", 0, "checkRuns", "totalCount")); got != "130" {
		t.Errorf("check runs: %s", a.raw)
	}
	if n := calls2.count("/repos/acme/big/commits/big/check-runs"); n != 2 {
		t.Errorf("%d pages of check runs read, want 2", n)
	}
}
