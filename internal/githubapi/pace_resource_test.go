package githubapi

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestRepoNamedGraphQLIsCore: a REST request for a repository or
// organisation named "graphql" is paced against the core budget; only the
// GraphQL endpoint beside the API root is GraphQL's.
func TestRepoNamedGraphQLIsCore(t *testing.T) {
	p := &pacer{base: "/api/v3/", graphQL: "/api/graphql"}
	for _, path := range []string{"/api/v3/repos/acme/graphql", "/api/v3/orgs/graphql"} {
		if got := p.resourceOf(httptest.NewRequest("GET", path, nil)); got != "core" {
			t.Errorf("%s is paced as %q, want core", path, got)
		}
	}
	if got := p.resourceOf(httptest.NewRequest("POST", "/api/graphql", nil)); got != "graphql" {
		t.Errorf("POST /api/graphql is paced as %q", got)
	}
	for base, want := range map[string]string{"https://api.github.com/": "/graphql", "https://ghe.example.com/api/v3/": "/api/graphql"} {
		u, _ := ParseBaseURL(base)
		if got := u.ResolveReference(&url.URL{Path: GraphQLPath(u)}).Path; got != want {
			t.Errorf("GraphQL path beside %s = %s, want %s", base, got, want)
		}
	}
}
