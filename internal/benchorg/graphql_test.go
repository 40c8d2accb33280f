package benchorg_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/internal/benchorg"
)

// gqlPost sends merge-activity's query for one repository (first pull
// requests after the cursor) to srv.
func gqlPost(t *testing.T, srv http.Handler, repo string, first int, after any) *httptest.ResponseRecorder {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": mergeactivity.PullsQuery, "operationName": "MergedPullRequests",
		"variables": map[string]any{"owner": "bench", "name": repo, "first": first, "after": after}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, benchorg.GraphQLPath, bytes.NewReader(body)))
	return rec
}

func restGet(srv http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v3"+path, nil))
	return rec
}

func smallOrg(t *testing.T) *benchorg.Org {
	t.Helper()
	org, err := benchorg.New(benchorg.Config{Repos: 2, PRsPerDay: 5, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// TestGraphQLIsOneRequest: a query is one "POST /graphql" however many REST
// answers it is resolved from, against the GraphQL budget (its own
// X-RateLimit-Resource), with one latency.
func TestGraphQLIsOneRequest(t *testing.T) {
	org := smallOrg(t)
	const latency = 40 * time.Millisecond
	srv := benchorg.NewServer(org, benchorg.Options{Latency: latency})
	start := time.Now()
	rec := gqlPost(t, srv, org.Repos[0].Name, 5, nil)
	elapsed := time.Since(start)
	var a struct {
		Data struct {
			Repository struct {
				PullRequests struct {
					Nodes []struct {
						Number int `json:"number"`
					} `json:"nodes"`
				} `json:"pullRequests"`
			} `json:"repository"`
		} `json:"data"`
		Errors []any `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &a); rec.Code != http.StatusOK || err != nil || len(a.Errors) > 0 || len(a.Data.Repository.PullRequests.Nodes) != 5 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if by := srv.ByEndpoint(); len(by) != 1 || by["POST /graphql"] != 1 || srv.Requests() != 1 {
		t.Errorf("ByEndpoint %v, Requests %d: want one POST /graphql", by, srv.Requests())
	}
	// 5 pull requests are some 20 REST answers: latency once, not each.
	if elapsed < latency || elapsed > 8*latency {
		t.Errorf("a query took %s with a latency of %s", elapsed, latency)
	}
	h := rec.Header()
	if h.Get("X-RateLimit-Resource") != "graphql" || h.Get("X-RateLimit-Used") != "1" || h.Get("X-RateLimit-Remaining") != "4999" {
		t.Errorf("rate-limit headers %v", h)
	}
	rest := restGet(srv, "/repos/bench/"+org.Repos[0].Name)
	if rest.Code != http.StatusOK || rest.Header().Get("X-RateLimit-Resource") != "core" || rest.Header().Get("X-RateLimit-Used") != "1" {
		t.Errorf("REST after GraphQL: %d %v", rest.Code, rest.Header())
	}
}

// TestGraphQLBudgetIsSeparate: a spent GraphQL budget is GitHub's 200 with
// RATE_LIMITED and X-RateLimit-Remaining: 0; REST still answers.
func TestGraphQLBudgetIsSeparate(t *testing.T) {
	org := smallOrg(t)
	srv := benchorg.NewServer(org, benchorg.Options{RateLimit: 100, GraphQLRateLimit: 2})
	for i := range 2 {
		if rec := gqlPost(t, srv, org.Repos[0].Name, 1, nil); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "RATE_LIMITED") {
			t.Fatalf("query %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := gqlPost(t, srv, org.Repos[0].Name, 1, nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"type":"RATE_LIMITED"`) || rec.Header().Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("a query over the budget: %d %s %v", rec.Code, rec.Body, rec.Header())
	}
	if rest := restGet(srv, "/repos/bench/"+org.Repos[0].Name); rest.Code != http.StatusOK || rest.Header().Get("X-RateLimit-Remaining") != "99" {
		t.Errorf("REST with the GraphQL budget spent: %d %v", rest.Code, rest.Header())
	}
}

// TestGraphQLFailsWhileRESTWorks: Faults.Fail on /graphql makes every
// GraphQL answer a 502; the REST API, and the REST answers the GraphQL
// endpoint reads, are not touched.
func TestGraphQLFailsWhileRESTWorks(t *testing.T) {
	org := smallOrg(t)
	srv := benchorg.NewServer(org, benchorg.Options{Faults: benchorg.Faults{Fail: regexp.MustCompile(`^/graphql$`)}})
	for range 4 {
		if rec := gqlPost(t, srv, org.Repos[1].Name, 5, nil); rec.Code != http.StatusBadGateway {
			t.Errorf("GraphQL: %d %s, want 502", rec.Code, rec.Body)
		}
	}
	if rec := restGet(srv, "/repos/bench/"+org.Repos[1].Name+"/pulls/1/reviews"); rec.Code != http.StatusOK {
		t.Errorf("REST: %d", rec.Code)
	}
	if n := srv.FaultCounts()[benchorg.FaultAlways]; n != 4 {
		t.Errorf("%d always-failing faults, want 4", n)
	}
	// A REST Fail regexp does not reach the GraphQL endpoint's reads.
	srv = benchorg.NewServer(org, benchorg.Options{Faults: benchorg.Faults{Fail: regexp.MustCompile(`/reviews$`)}})
	if rec := gqlPost(t, srv, org.Repos[1].Name, 5, nil); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"errors"`) {
		t.Errorf("GraphQL with REST reviews failing: %d %s", rec.Code, rec.Body)
	}
}

// TestGraphQLFaultKeyIsTheBody: whether attempt n of a query faults
// depends on its body, not only on the endpoint: each query's first
// attempt gets the same answer whatever was asked before it, and
// different queries get different faults.
func TestGraphQLFaultKeyIsTheBody(t *testing.T) {
	org := smallOrg(t)
	opts := benchorg.Options{Faults: benchorg.Faults{Seed: 8, Percent502: 50, MaxConsecutive: -1}}
	const n = 16
	alone := make([]int, n)
	seen := map[int]int{}
	for i := range n {
		srv := benchorg.NewServer(org, opts)
		alone[i] = gqlPost(t, srv, org.Repos[0].Name, i+1, nil).Code
		seen[alone[i]]++
	}
	if seen[http.StatusOK] == 0 || seen[http.StatusBadGateway] == 0 {
		t.Fatalf("first attempts of %d different queries: %v, want some 502s and some 200s", n, seen)
	}
	srv := benchorg.NewServer(org, opts)
	for i := n - 1; i >= 0; i-- {
		if got := gqlPost(t, srv, org.Repos[0].Name, i+1, nil).Code; got != alone[i] {
			t.Errorf("query %d after others: %d, alone %d", i, got, alone[i])
		}
	}
}
