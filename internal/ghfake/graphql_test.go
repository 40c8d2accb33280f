package ghfake

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// graphQLFixture: a repository with three merged pull requests.
func graphQLFixture() *Fixture {
	var pulls []string
	for _, n := range []string{"3", "2", "1"} {
		pulls = append(pulls, `{"number": `+n+`, "state": "closed", "title": "T`+n+`", "created_at": "2026-01-0`+n+`T00:00:00Z",
			"updated_at": "2026-01-0`+n+`T00:00:00Z", "merged_at": "2026-01-0`+n+`T00:00:00Z", "user": {"login": "alice", "type": "User"}}`)
	}
	return &Fixture{Routes: []Route{
		{Path: "/repos/acme/web", Body: json.RawMessage(`{"id": 1, "name": "web", "full_name": "acme/web"}`)},
		{Path: "/repos/acme/web/pulls", Query: map[string]string{"state": "closed", "sort": "updated", "direction": "desc"},
			Body: json.RawMessage("[" + strings.Join(pulls, ",") + "]")},
	}}
}

const listQuery = `{"query": "{ repository(owner: \"acme\", name: \"web\") { pullRequests(first: 10, states: [MERGED]) { totalCount nodes { number } } } }"}`

func postGraphQL(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	return request(t, http.MethodPost, url, strings.NewReader(listQuery), header...)
}

// wantList is the answer: oldest first, GitHub's order without orderBy.
const wantList = `{"data":{"repository":{"pullRequests":{"totalCount":3,"nodes":[{"number":1},{"number":2},{"number":3}]}}}}`

// TestGraphQLEndpoint: POST /api/graphql beside /api/v3/ answers from the
// fixture's REST routes, whatever page size REST is limited to; it is one
// request under /graphql, none of the REST routes it read is counted, and
// it counts against its own budget (X-RateLimit-Resource: graphql).
func TestGraphQLEndpoint(t *testing.T) {
	s := New(graphQLFixture(), WithMaxPerPage(1))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	if got := s.GraphQLURL(hs.URL); got != hs.URL+"/api/graphql" {
		t.Errorf("GraphQLURL = %s", got)
	}
	resp, body := postGraphQL(t, s.GraphQLURL(hs.URL))
	if resp.StatusCode != http.StatusOK || body != wantList {
		t.Fatalf("%d %s\nwant %s", resp.StatusCode, body, wantList)
	}
	want := map[string]int{GraphQLCountPath: 1}
	if got := s.RequestsByPath(); !maps.Equal(got, want) || s.Requests() != 1 {
		t.Errorf("RequestsByPath %v, want %v", got, want)
	}
	h := resp.Header
	if h.Get("X-RateLimit-Resource") != "graphql" || h.Get("X-RateLimit-Used") != "1" || h.Get("X-RateLimit-Limit") != "5000" ||
		!strings.HasPrefix(h.Get("Content-Type"), "application/json") || h.Get("X-GitHub-Request-Id") == "" {
		t.Errorf("headers %v", h)
	}
	postGraphQL(t, s.GraphQLURL(hs.URL))
	resp, _ = get(t, s.URL(hs.URL)+"repos/acme/web")
	if resp.Header.Get("X-RateLimit-Resource") != "core" || resp.Header.Get("X-RateLimit-Used") != "1" {
		t.Errorf("REST after two queries: %v", resp.Header)
	}
	if resp, body := get(t, s.GraphQLURL(hs.URL)); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"message":"Not Found"`) {
		t.Errorf("GET: %d %s", resp.StatusCode, body)
	}
}

// TestGraphQLEndpointOtherBase: under another base path B the endpoint is
// B + "graphql"; /api/graphql is then nothing.
func TestGraphQLEndpointOtherBase(t *testing.T) {
	s := New(graphQLFixture(), WithBasePath("/gh/"))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	if s.GraphQLPath() != "/gh/graphql" {
		t.Errorf("GraphQLPath = %s", s.GraphQLPath())
	}
	if resp, body := postGraphQL(t, hs.URL+"/gh/graphql"); resp.StatusCode != http.StatusOK || body != wantList {
		t.Errorf("/gh/graphql: %d %s", resp.StatusCode, body)
	}
	if resp, _ := postGraphQL(t, hs.URL+"/api/graphql"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/api/graphql: %d", resp.StatusCode)
	}
}

// TestGraphQLEndpointNeedsTheToken: authorised as REST requests are.
func TestGraphQLEndpointNeedsTheToken(t *testing.T) {
	s := New(graphQLFixture(), WithToken("tok"))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	if resp, body := postGraphQL(t, s.GraphQLURL(hs.URL)); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Bad credentials") {
		t.Errorf("no token: %d %s", resp.StatusCode, body)
	}
	if resp, body := postGraphQL(t, s.GraphQLURL(hs.URL), "Authorization", "Bearer nope"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d %s", resp.StatusCode, body)
	}
	if resp, body := postGraphQL(t, s.GraphQLURL(hs.URL), "Authorization", "bearer tok"); resp.StatusCode != http.StatusOK || body != wantList {
		t.Errorf("the token: %d %s", resp.StatusCode, body)
	}
}

// TestAnswer: the in-process answer is what ServeHTTP sends, pages
// included, without counting.
func TestAnswer(t *testing.T) {
	s := New(graphQLFixture(), WithMaxPerPage(2))
	status, body := s.Answer(http.MethodGet, "/repos/acme/web/pulls", mustQuery("state=closed&sort=updated&direction=desc&page=2"))
	if status != http.StatusOK || strings.Count(string(body), `"number"`) != 1 || !strings.Contains(string(body), `"number": 1`) {
		t.Errorf("page 2: %d %s", status, body)
	}
	if status, body := s.Answer(http.MethodGet, "/nothing", nil); status != http.StatusNotFound || !strings.Contains(string(body), "Not Found") {
		t.Errorf("no route: %d %s", status, body)
	}
	if s.Requests() != 0 {
		t.Errorf("Answer counted %d requests", s.Requests())
	}
}

func mustQuery(s string) url.Values {
	q, err := url.ParseQuery(s)
	if err != nil {
		panic(err)
	}
	return q
}
