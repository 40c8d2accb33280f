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
	const whole = `{"number":1,"headRefOid":"h","labels":{"totalCount":1,"nodes":[{"name":"x"}]},
	"reviews":{"totalCount":0,"nodes":[]},"commits":{"totalCount":1,"nodes":[{"commit":{"oid":"h"}}]},
	"headCommit":{"nodes":[{"commit":{"oid":"h","checkSuites":{"totalCount":1,"nodes":[{"checkRuns":{"totalCount":2,"nodes":[{},{}]}}]},"status":null}}]}}`
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"whole", "", "", ""},
		{"labels", `"labels":{"totalCount":1`, `"labels":{"totalCount":101`, "labels"},
		{"reviews", `"reviews":{"totalCount":0`, `"reviews":{"totalCount":130`, "reviews"},
		{"reviews null", `"reviews":{"totalCount":0,"nodes":[]}`, `"reviews":null`, "reviews"},
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
