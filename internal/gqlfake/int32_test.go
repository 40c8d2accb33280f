package gqlfake_test

import (
	"net/http"
	"testing"

	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/gqlfake"
)

// TestIntBeyond32Bits: GraphQL's Int is a signed 32-bit integer (spec
// §3.5.1: a result outside it is a field error). GitHub's check run and
// review ids are past 2^31 (the schema deprecates
// PullRequestReview.databaseId for this, in favour of fullDatabaseId:
// BigInt, a string), so the fake answers such an Int with null and an
// error, as github.com does.
func TestIntBeyond32Bits(t *testing.T) {
	big := ghfake.Route{Path: "/repos/acme/app/pulls/5/reviews", Body: mustJSON([]any{
		map[string]any{"id": int64(3_000_000_000), "user": account("bob", "User"), "state": "APPROVED", "body": "",
			"submitted_at": "2026-01-04T09:00:00Z", "commit_id": "h5", "html_url": "https://github.com/r/1"},
	})}
	rest, _ := fakeREST(append([]ghfake.Route{big}, world()...)...)
	h := gqlfake.New(rest)
	a := post(t, h, path, `query { repository(owner: "acme", name: "app") { pullRequests(first: 1, states: [MERGED], orderBy: {field: UPDATED_AT, direction: DESC}) {
		nodes { number reviews(first: 1) { nodes { databaseId fullDatabaseId } } } } } }`, nil)
	if a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	got := at(a.Data, "repository", "pullRequests", "nodes", 0, "reviews", "nodes", 0, "databaseId")
	if got != nil || len(a.Errors) == 0 {
		t.Errorf("Int databaseId = %v with errors %v; GraphQL cannot represent 3000000000 as Int: want null and a field error", got, a.Errors)
	}
	if full := at(a.Data, "repository", "pullRequests", "nodes", 0, "reviews", "nodes", 0, "fullDatabaseId"); full != "3000000000" {
		t.Errorf("fullDatabaseId = %#v, want the BigInt string \"3000000000\"", full)
	}
}
