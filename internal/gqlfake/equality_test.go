package gqlfake_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/benchorg"
	"github.com/changeproof/changeproof/internal/ghfake"
)

// The equality tests run merge-activity's real query against a fake over
// HTTP and check, merged pull request by merged pull request, that the
// GraphQL answer says what the fake's REST endpoints say: the REST JSON is
// read over HTTP and decoded here, apart from the fake's own code.

const (
	sampleOrg  = "../../testdata/github/sample-org"
	pullsQuery = "../../collectors/mergeactivity/pulls.graphql"
)

// remote is a fake GitHub over HTTP: its REST base URL, its GraphQL URL
// and the token it wants.
type remote struct {
	rest, graphql, token string
}

func (x remote) do(t *testing.T, method, url string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if x.token != "" {
		req.Header.Set("Authorization", "Bearer "+x.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return v
}

var nextLink = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

// get reads a REST resource; a listing (key "" for an array, else the
// array inside the object) is read page by page along the Link header.
func (x remote) get(t *testing.T, pathAndQuery, key string) (int, any) {
	t.Helper()
	url := x.rest + strings.TrimPrefix(pathAndQuery, "/")
	var items []any
	var first any
	for {
		resp, b := x.do(t, http.MethodGet, url, nil)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, nil
		}
		v := decode(t, b)
		if first == nil {
			first = v
		}
		switch {
		case key == "" && list(v) == nil:
			return resp.StatusCode, v // an object
		case key == "":
			items = append(items, list(v)...)
		default:
			items = append(items, list(at(v, key))...)
		}
		m := nextLink.FindStringSubmatch(resp.Header.Get("Link"))
		if m == nil {
			break
		}
		url = m[1]
	}
	if key != "" {
		obj := first.(map[string]any)
		obj[key] = items
		return http.StatusOK, obj
	}
	return http.StatusOK, items
}

// pulls runs the query over every page of first pull requests and returns
// the nodes and errors, each error's node index made absolute.
func (x remote) pulls(t *testing.T, query, owner, name string, first int) ([]any, []gqlError) {
	t.Helper()
	var nodes []any
	var errs []gqlError
	var after any
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("the pages do not end")
		}
		body, _ := json.Marshal(map[string]any{"query": query, "operationName": "MergedPullRequests",
			"variables": map[string]any{"owner": owner, "name": name, "first": first, "after": after}})
		resp, b := x.do(t, http.MethodPost, x.graphql, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GraphQL %s/%s: %d %s", owner, name, resp.StatusCode, b)
		}
		var a answer
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&a); err != nil {
			t.Fatal(err)
		}
		for _, e := range a.Errors {
			if len(e.Path) > 3 {
				var i int
				_, _ = fmt.Sscan(str(e.Path[3]), &i)
				e.Path[3] = len(nodes) + i
			}
			errs = append(errs, e)
		}
		conn := at(a.Data, "repository", "pullRequests")
		nodes = append(nodes, list(at(conn, "nodes"))...)
		if at(conn, "pageInfo", "hasNextPage") != true {
			return nodes, errs
		}
		after = at(conn, "pageInfo", "endCursor")
	}
}

// restLogin is how GraphQL names a REST account: a bot without "[bot]".
func restLogin(u any) string {
	if u == nil {
		return "<null>"
	}
	login := str(at(u, "login"))
	if str(at(u, "type")) == "Bot" {
		login = strings.TrimSuffix(login, "[bot]")
	}
	return login
}

func restTypename(u any) string {
	switch t := str(at(u, "type")); t {
	case "Bot", "Organization":
		return t
	case "<null>":
		return t
	}
	return "User"
}

// gitUser is GraphQL's GitActor.user for a REST commit account: only a
// User is one.
func gitUser(u any) string {
	if u == nil || str(at(u, "type")) != "User" {
		return "<null>"
	}
	return str(at(u, "login"))
}

func upper(v any) string {
	if v == nil {
		return "<null>"
	}
	return strings.ToUpper(str(v))
}

// checkRepo compares the GraphQL answer for owner/name with its REST
// endpoints; it returns how many merged pull requests it compared whole.
func checkRepo(t *testing.T, x remote, owner, name string) int {
	t.Helper()
	query, err := os.ReadFile(pullsQuery)
	if err != nil {
		t.Fatal(err)
	}
	status, listing := x.get(t, fmt.Sprintf("/repos/%s/%s/pulls?state=closed&sort=updated&direction=desc&per_page=100", owner, name), "")
	if status != http.StatusOK {
		t.Fatalf("REST pulls of %s/%s: %d", owner, name, status)
	}
	var merged []any
	for _, p := range list(listing) {
		if at(p, "merged_at") != nil {
			merged = append(merged, p)
		}
	}
	updated := func(p any) time.Time {
		tm, err := time.Parse(time.RFC3339, str(at(p, "updated_at")))
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	slices.SortStableFunc(merged, func(a, b any) int {
		return -cmp.Or(updated(a).Compare(updated(b)), cmp.Compare(str(at(a, "number")), str(at(b, "number"))))
	})

	nodes, errs := x.pulls(t, string(query), owner, name, 100)
	// Pages of two give the same pull requests, each once.
	small, _ := x.pulls(t, string(query), owner, name, 2)
	if g, w := numbersOf(small), numbersOf(nodes); g != w {
		t.Errorf("%s/%s: pages of 2 give %s, pages of 100 %s", owner, name, g, w)
	}
	if len(nodes) != len(merged) {
		t.Fatalf("%s/%s: GraphQL lists %d merged pull requests, REST %d", owner, name, len(nodes), len(merged))
	}
	explained := map[int]bool{}
	whole := 0
	for i, p := range merged {
		n := str(at(p, "number"))
		base := fmt.Sprintf("/repos/%s/%s/pulls/%s", owner, name, n)
		stPull, full := x.get(t, base, "")
		stReviews, reviews := x.get(t, base+"/reviews?per_page=100", "")
		stCommits, commits := x.get(t, base+"/commits?per_page=100", "")
		node := nodes[i]
		if stPull != http.StatusOK || stReviews != http.StatusOK || stCommits != http.StatusOK {
			// The fixture lacks a resource: the node is null (commits is
			// non-null), with NOT_FOUND naming each missing resource (all
			// three are selected before commits nulls the node).
			if node != nil {
				t.Errorf("#%s: REST answers %d/%d/%d, GraphQL a node", n, stPull, stReviews, stCommits)
			}
			for _, c := range []struct {
				status int
				field  string
			}{{stPull, "mergedBy"}, {stReviews, "reviews"}, {stCommits, "commits"}} {
				if c.status != http.StatusNotFound {
					continue
				}
				found := false
				for j, e := range errs {
					if e.Type == "NOT_FOUND" && pathIs(e.Path, "repository", "pullRequests", "nodes", i, c.field) {
						explained[j], found = true, true
					}
				}
				if !found {
					t.Errorf("#%s: REST %s answers 404, GraphQL has no NOT_FOUND for it", n, c.field)
				}
			}
			continue
		}
		whole++
		want := []string{
			n, str(at(p, "title")), str(at(p, "merged_at")), str(at(p, "head", "sha")), str(at(p, "merge_commit_sha")),
			restTypename(at(p, "user")) + ":" + restLogin(at(p, "user")),
			restTypename(at(full, "merged_by")) + ":" + restLogin(at(full, "merged_by")),
		}
		got := []string{
			str(at(node, "number")), str(at(node, "title")), str(at(node, "mergedAt")), str(at(node, "headRefOid")), str(at(node, "mergeCommit", "oid")),
			str(at(node, "author", "__typename")) + ":" + str(at(node, "author", "login")),
			str(at(node, "mergedBy", "__typename")) + ":" + str(at(node, "mergedBy", "login")),
		}
		if !slices.Equal(got, want) {
			t.Errorf("#%s: GraphQL %q\nREST %q", n, got, want)
		}
		var wantR, gotR []string
		for _, r := range list(reviews) {
			wantR = append(wantR, fmt.Sprintf("%s %s %s %s %s", at(r, "id"), at(r, "state"), str(at(r, "commit_id")), restLogin(at(r, "user")), str(at(r, "submitted_at"))))
		}
		for _, r := range list(at(node, "reviews", "nodes")) {
			gotR = append(gotR, fmt.Sprintf("%s %s %s %s %s", at(r, "fullDatabaseId"), at(r, "state"), str(at(r, "commit", "oid")), str(at(r, "author", "login")), str(at(r, "submittedAt"))))
		}
		if !slices.Equal(gotR, wantR) || str(at(node, "reviews", "totalCount")) != fmt.Sprint(len(wantR)) {
			t.Errorf("#%s reviews: GraphQL %q (total %v)\nREST %q", n, gotR, at(node, "reviews", "totalCount"), wantR)
		}
		var wantC, gotC []string
		for _, c := range list(commits) {
			wantC = append(wantC, str(at(c, "sha"))+" "+gitUser(at(c, "author"))+" "+gitUser(at(c, "committer")))
		}
		for _, c := range list(at(node, "commits", "nodes")) {
			gotC = append(gotC, str(at(c, "commit", "oid"))+" "+str(at(c, "commit", "author", "user", "login"))+" "+str(at(c, "commit", "committer", "user", "login")))
		}
		if !slices.Equal(gotC, wantC) || str(at(node, "commits", "totalCount")) != fmt.Sprint(len(wantC)) {
			t.Errorf("#%s commits: GraphQL %q\nREST %q", n, gotC, wantC)
		}
		head := at(node, "headCommit", "nodes", 0, "commit")
		lastSHA := str(at(list(commits)[len(list(commits))-1], "sha"))
		if str(at(head, "oid")) != lastSHA {
			t.Errorf("#%s: headCommit %v, REST's last commit %s", n, at(head, "oid"), lastSHA)
		}
		_, runs := x.get(t, fmt.Sprintf("/repos/%s/%s/commits/%s/check-runs?filter=all&per_page=100", owner, name, lastSHA), "check_runs")
		var wantRuns, gotRuns []string
		for _, r := range list(at(runs, "check_runs")) {
			// The query asks no check run id (GraphQL's Int is too small).
			wantRuns = append(wantRuns, fmt.Sprintf("%s %s %s %s", at(r, "name"), upper(at(r, "status")), upper(at(r, "conclusion")), str(at(r, "started_at"))))
		}
		total := 0
		for _, s := range list(at(head, "checkSuites", "nodes")) {
			c, _ := at(s, "checkRuns", "totalCount").(json.Number).Int64()
			total += int(c)
			for _, r := range list(at(s, "checkRuns", "nodes")) {
				gotRuns = append(gotRuns, fmt.Sprintf("%s %s %s %s", at(r, "name"), at(r, "status"), str(at(r, "conclusion")), str(at(r, "startedAt"))))
			}
		}
		slices.Sort(wantRuns)
		slices.Sort(gotRuns)
		if !slices.Equal(gotRuns, wantRuns) || total != len(wantRuns) {
			t.Errorf("#%s check runs: GraphQL %q (total %d)\nREST %q", n, gotRuns, total, wantRuns)
		}
		_, st := x.get(t, fmt.Sprintf("/repos/%s/%s/commits/%s/status", owner, name, lastSHA), "statuses")
		var wantS, gotS []string
		for _, s := range list(at(st, "statuses")) {
			wantS = append(wantS, fmt.Sprintf("%s %s %s", at(s, "context"), upper(at(s, "state")), at(s, "created_at")))
		}
		for _, s := range list(at(head, "status", "contexts")) {
			gotS = append(gotS, fmt.Sprintf("%s %s %s", at(s, "context"), at(s, "state"), at(s, "createdAt")))
		}
		if !slices.Equal(gotS, wantS) || (len(wantS) == 0) != (at(head, "status") == nil) {
			t.Errorf("#%s status: GraphQL %v\nREST %q", n, at(head, "status"), wantS)
		}
	}
	for j, e := range errs {
		if !explained[j] {
			t.Errorf("%s/%s: unexpected error %v", owner, name, e)
		}
	}
	return whole
}

func numbersOf(nodes []any) string {
	var out []string
	for _, n := range nodes {
		out = append(out, str(at(n, "number")))
	}
	return strings.Join(out, ",")
}

// TestSampleOrgGraphQLEqualsREST: the bundled sample organisation's merged
// pull requests over GraphQL are what its REST fixture says, including
// the Dependabot pull request (a Bot) and those whose details the fixture
// lacks (null with NOT_FOUND).
func TestSampleOrgGraphQLEqualsREST(t *testing.T) {
	fx, err := ghfake.Load(sampleOrg)
	if err != nil {
		t.Fatal(err)
	}
	const token = "sample-token-not-a-secret"
	srv := ghfake.New(fx, ghfake.WithToken(token), ghfake.WithMaxPerPage(3))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	x := remote{rest: srv.URL(hs.URL), graphql: srv.GraphQLURL(hs.URL), token: token}
	whole := 0
	for _, repo := range []string{"payments", "web", "docs"} {
		whole += checkRepo(t, x, "acme", repo)
	}
	if whole < 10 {
		t.Errorf("only %d pull requests compared whole", whole)
	}
}

// TestBenchOrgGraphQLEqualsREST: the same for a small synthetic
// organisation served by benchorg.
func TestBenchOrgGraphQLEqualsREST(t *testing.T) {
	org, err := benchorg.New(benchorg.Config{Repos: 3, PRsPerDay: 4, Days: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	srv := benchorg.NewServer(org, benchorg.Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	x := remote{rest: srv.URL(hs.URL), graphql: srv.GraphQLURL(hs.URL)}
	whole := 0
	for _, r := range org.Repos {
		whole += checkRepo(t, x, org.Config.Org, r.Name)
	}
	if whole != org.MergedPRs() {
		t.Errorf("compared %d pull requests whole, the organisation has %d", whole, org.MergedPRs())
	}
}
