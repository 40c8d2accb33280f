package gqlfake_test

import (
	"net/http"
	"os"
	"testing"

	"github.com/changeproof/changeproof/internal/benchorg"
)

// BenchmarkGraphQLPage answers one page of merge-activity's query (25
// merged pull requests, each with its reviews, commits, check runs and
// status) from a benchorg repository, through the server (no latency).
func BenchmarkGraphQLPage(b *testing.B) {
	query, err := os.ReadFile(pullsQuery)
	if err != nil {
		b.Fatal(err)
	}
	org, err := benchorg.New(benchorg.Config{Repos: 1, PRsPerDay: 25, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	srv := benchorg.NewServer(org, benchorg.Options{RateLimit: 1 << 30})
	vars := map[string]any{"owner": org.Config.Org, "name": org.Repos[0].Name, "first": 25, "after": nil}
	a := post(b, srv, benchorg.GraphQLPath, string(query), vars)
	if a.status != http.StatusOK || len(a.Errors) > 0 || len(list(at(a.Data, "repository", "pullRequests", "nodes"))) != 25 {
		b.Fatalf("%d %v", a.status, a.Errors)
	}
	b.ReportAllocs()
	for b.Loop() {
		post(b, srv, benchorg.GraphQLPath, string(query), vars)
	}
}
