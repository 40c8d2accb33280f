package mergeactivity

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNodeIndex(t *testing.T) {
	for _, tc := range []struct {
		path string
		i    int
		ok   bool
	}{
		{`["repository","pullRequests","nodes",3,"reviews"]`, 3, true},
		{`["repository","pullRequests","nodes",0,"headCommit","nodes",0,"commit","status"]`, 0, true},
		{`["repository","pullRequests","nodes",3]`, 0, false}, // the whole node: the listing is wrong
		{`["repository"]`, 0, false},
		{`["repository","pullRequests","nodes",-1,"reviews"]`, 0, false},
		{`["repository","pullRequests","nodes",1.5,"reviews"]`, 0, false},
		{`["repository","pullRequests","nodes","1","reviews"]`, 0, false},
		{`[]`, 0, false},
	} {
		var p []any
		if err := json.Unmarshal([]byte(tc.path), &p); err != nil {
			t.Fatal(err)
		}
		i, ok := nodeIndex(p)
		if i != tc.i || ok != tc.ok {
			t.Errorf("nodeIndex(%s) = %d, %v; want %d, %v", tc.path, i, ok, tc.i, tc.ok)
		}
	}
}

func TestGraphQLActors(t *testing.T) {
	for _, tc := range []struct {
		in   *gqlActor
		want Actor
	}{
		{&gqlActor{Typename: "Bot", Login: "dependabot"}, Actor{Login: "dependabot[bot]", Type: "Bot"}},
		{&gqlActor{Typename: "Bot", Login: "renovate[bot]"}, Actor{Login: "renovate[bot]", Type: "Bot"}},
		{&gqlActor{Typename: "User", Login: "octocat"}, Actor{Login: "octocat", Type: "User"}},
		{nil, Actor{}},
	} {
		if got := tc.in.user().actor(); got != tc.want {
			t.Errorf("%+v: %+v, want %+v", tc.in, got, tc.want)
		}
	}
	if !(&gqlActor{Typename: "Bot", Login: "x"}).user().actor().IsBot() {
		t.Error("a GraphQL Bot is no bot")
	}
}

// TestGraphQLIncomplete: a node with more than its first page of anything
// the judgement reads, or without its head, is read over REST.
func TestGraphQLIncomplete(t *testing.T) {
	const whole = `{"number":1,"headRefOid":"h","labels":{"totalCount":1,"pageInfo":{"hasNextPage":false},"nodes":[{"name":"x"}]},
	"reviews":{"totalCount":1,"pageInfo":{"hasNextPage":false},"nodes":[{"fullDatabaseId":"3000000000"}]},"commits":{"totalCount":1,"pageInfo":{"hasNextPage":false},"nodes":[{"commit":{"oid":"h"}}]},
	"headCommit":{"nodes":[{"commit":{"oid":"h","checkSuites":{"totalCount":1,"pageInfo":{"hasNextPage":false},"nodes":[{"checkRuns":{"totalCount":2,"pageInfo":{"hasNextPage":false},"nodes":[{},{}]}}]},"status":null}}]}}`
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"whole", "", "", ""},
		{"labels", `"labels":{"totalCount":1`, `"labels":{"totalCount":101`, "labels"},
		{"reviews", `"reviews":{"totalCount":1`, `"reviews":{"totalCount":130`, "reviews"},
		{"reviews next page", `"reviews":{"totalCount":1,"pageInfo":{"hasNextPage":false}`, `"reviews":{"totalCount":1,"pageInfo":{"hasNextPage":true}`, "reviews"},
		{"reviews no pageInfo", `"reviews":{"totalCount":1,"pageInfo":{"hasNextPage":false},`, `"reviews":{"totalCount":1,`, "reviews"},
		{"reviews null", `"reviews":{"totalCount":1,"pageInfo":{"hasNextPage":false},"nodes":[{"fullDatabaseId":"3000000000"}]}`, `"reviews":null`, "reviews"},
		{"review null", `"nodes":[{"fullDatabaseId":"3000000000"}]`, `"nodes":[null]`, "reviews"},
		{"review id", `"fullDatabaseId":"3000000000"`, `"fullDatabaseId":"x"`, "reviews"},
		{"commit oid", `"nodes":[{"commit":{"oid":"h"}}]`, `"nodes":[{"commit":{"oid":""}}]`, "commits"},
		{"head null", `"headCommit":{"nodes":[{"commit"`, `"headCommit":{"nodes":[null],"x":[{"commit"`, "the head commit"},
		{"commits", `"commits":{"totalCount":1`, `"commits":{"totalCount":251`, "commits"},
		{"suites", `"checkSuites":{"totalCount":1`, `"checkSuites":{"totalCount":26`, "check suites"},
		{"runs", `"checkRuns":{"totalCount":2`, `"checkRuns":{"totalCount":3`, "check suites"},
		{"no head", `"headCommit":{"nodes":[{`, `"headCommit":{"nodes":[],"x":[{`, "the head commit"},
		{"head moved", `"headRefOid":"h"`, `"headRefOid":"other"`, "the last commit is not the head"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n gqlPull
			if err := json.Unmarshal([]byte(strings.Replace(whole, tc.from, tc.to, 1)), &n); err != nil {
				t.Fatal(err)
			}
			got := n.incomplete()
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("incomplete() = %q, want it to name %q", got, tc.want)
			}
		})
	}
}

// FuzzGraphQLPage feeds the GraphQL page decoder hostile answers (malformed
// JSON, nulls, wrong types, missing connections, huge numbers): it returns
// an error or pull requests, never panics, and a pull request it takes
// whole normalises consistently with its listing item.
func FuzzGraphQLPage(f *testing.F) {
	for _, s := range []string{
		graphQLSeedPage,
		`{"data":{"repository":{"pullRequests":{"pageInfo":{"hasNextPage":true,"endCursor":null},"nodes":[null]}}}}`,
		`{"data":{"repository":{"pullRequests":{"nodes":[{"number":1,"updatedAt":"2026-11-20T00:00:00Z","headCommit":{"nodes":[null]}}]}}}}`,
		`{"data":{"repository":{"pullRequests":{"nodes":[{"number":1e400}]}}}}`,
		`{"data":{"repository":null},"errors":[{"type":"NOT_FOUND"}]}`,
		`{"data":null}`, `[]`, `null`, `{"data":{"repository":{"pullRequests":{"nodes":"x"}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, _, _, err := parseGraphQLPage(body, nil)
		if err != nil {
			return
		}
		for _, it := range items {
			if it.Number <= 0 || it.UpdatedAt == nil || it.graph == nil {
				t.Fatalf("item %+v taken without a number, updatedAt or node", it)
			}
			if it.restReason != "" {
				continue
			}
			v, err := it.graph.view()
			if err != nil {
				continue
			}
			if v.HeadSHA != it.Head.SHA || v.MergedAt.IsZero() || v.CommitCount == nil || *v.CommitCount < len(v.Commits) {
				t.Fatalf("view %+v disagrees with item %+v", v, it)
			}
		}
	})
}

// graphQLSeedPage is a whole page of one merged pull request.
const graphQLSeedPage = `{"data":{"repository":{"pullRequests":{"pageInfo":{"hasNextPage":false,"endCursor":"Y3Vyc29yOnYyOjE="},"nodes":[
{"number":7,"title":"Fix","updatedAt":"2026-11-20T10:00:00Z","mergedAt":"2026-11-20T09:00:00Z","baseRefName":"main","headRefOid":"h1",
"author":{"__typename":"User","login":"alice"},"mergedBy":{"__typename":"User","login":"bob"},"mergeCommit":{"oid":"m1"},
"labels":{"totalCount":1,"pageInfo":{"hasNextPage":false},"nodes":[{"name":"emergency"}]},
"reviews":{"totalCount":1,"pageInfo":{"hasNextPage":false},"nodes":[{"fullDatabaseId":"5","state":"APPROVED","submittedAt":"2026-11-20T08:00:00Z","author":{"__typename":"User","login":"bob"},"commit":{"oid":"h1"}}]},
"commits":{"totalCount":1,"pageInfo":{"hasNextPage":false},"nodes":[{"commit":{"oid":"h1","author":{"user":{"login":"alice"}},"committer":{"user":null}}}]},
"headCommit":{"nodes":[{"commit":{"oid":"h1","checkSuites":{"totalCount":1,"pageInfo":{"hasNextPage":false},"nodes":[{"checkRuns":{"totalCount":1,"pageInfo":{"hasNextPage":false},"nodes":[
{"name":"ci","status":"COMPLETED","conclusion":"SUCCESS","startedAt":"2026-11-20T07:00:00Z","completedAt":"2026-11-20T07:30:00Z"}]}}]},
"status":{"contexts":[{"context":"lint","state":"PENDING","createdAt":"2026-11-20T07:00:00Z"}]}}}]}}]}}}}`

// TestGraphQLView: a whole node normalises to the view the REST sources
// give for the same pull request.
func TestGraphQLView(t *testing.T) {
	items, more, cursor, err := parseGraphQLPage([]byte(graphQLSeedPage), nil)
	if err != nil || len(items) != 1 || more || cursor != "Y3Vyc29yOnYyOjE=" {
		t.Fatalf("parse: %d items, more %v, cursor %q, %v", len(items), more, cursor, err)
	}
	it := items[0]
	if it.restReason != "" || !it.hasLabel("EMERGENCY") || *it.MergeSHA != "m1" || it.Base.Ref != "main" {
		t.Fatalf("item %+v", it)
	}
	v, err := it.graph.view()
	if err != nil {
		t.Fatal(err)
	}
	got := string(mustJSON(v))
	want := `{"title":"Fix","author":{"login":"alice","type":"User"},"merged_by":{"login":"bob","type":"User"},"merged_at":"2026-11-20T09:00:00Z",` +
		`"head_sha":"h1","merge_sha":"m1","labels":["emergency"],"commit_count":1,"commits":[{"sha":"h1","author":"alice"}],` +
		`"reviews":[{"id":5,"reviewer":{"login":"bob","type":"User"},"state":"APPROVED","submitted_at":"2026-11-20T08:00:00Z","commit_id":"h1"}],` +
		`"checks":[{"name":"ci","kind":"check_run","id":0,"status":"completed","conclusion":"success","started_at":"2026-11-20T07:00:00Z","completed_at":"2026-11-20T07:30:00Z"},` +
		`{"name":"lint","kind":"status","id":0,"status":"pending","conclusion":"pending","started_at":"2026-11-20T07:00:00Z","completed_at":null}],"unread":[]}`
	if got != want {
		t.Errorf("view\n got %s\nwant %s", got, want)
	}
	if _, _, _, err := parseGraphQLPage([]byte(graphQLSeedPage), map[int]string{1: "x"}); err == nil {
		t.Error("an error naming a node the page does not have was accepted")
	}
	items, _, _, _ = parseGraphQLPage([]byte(graphQLSeedPage), map[int]string{0: "GraphQL: FORBIDDEN: no"})
	if items[0].restReason != "GraphQL: FORBIDDEN: no" {
		t.Errorf("restReason %q", items[0].restReason)
	}
}
