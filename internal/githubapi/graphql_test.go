package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGraphQLPath(t *testing.T) {
	for base, want := range map[string]string{
		"https://api.github.com/":          "https://api.github.com/graphql",
		"https://ghe.example.com/api/v3/":  "https://ghe.example.com/api/graphql",
		"http://127.0.0.1:8080/prefix/":    "http://127.0.0.1:8080/prefix/graphql",
		"http://127.0.0.1:8080/gh/api/v3/": "http://127.0.0.1:8080/gh/api/graphql",
	} {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		got, err := u.Parse(GraphQLPath(u))
		if err != nil || got.String() != want {
			t.Errorf("GraphQL beside %s = %v (%v), want %s", base, got, err, want)
		}
	}
}

// graphQLServer answers POST /api/graphql with answer(n) for the n-th
// request (from 0) and records the bodies.
func graphQLServer(t *testing.T, answer func(n int) (int, string)) (*httptest.Server, *[]map[string]any) {
	t.Helper()
	var bodies []map[string]any
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/graphql" {
			t.Errorf("request %s %s, want POST /api/graphql", r.Method, r.URL.Path)
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("Authorization %q", r.Header.Get("Authorization"))
		}
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("request body %q: %v", b, err)
		}
		bodies = append(bodies, body)
		status, out := answer(int(n.Add(1) - 1))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-RateLimit-Resource", "graphql")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(srv.Close)
	return srv, &bodies
}

func TestPostGraphQL(t *testing.T) {
	const data = `{"data":{"viewer":{"login":"octocat"}}}`
	srv, bodies := graphQLServer(t, func(n int) (int, string) {
		if n == 0 {
			return http.StatusBadGateway, `<html>502</html>`
		}
		return http.StatusOK, data
	})
	c := newClient(t, fastOptions(srv.URL+"/api/v3/"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	call, err := c.PostGraphQL(ctx, "Viewer", "query Viewer { viewer { login } }", map[string]any{"x": 1})
	if err != nil {
		t.Fatalf("PostGraphQL: %v", err)
	}
	if string(call.Body) != data || call.HTTPStatus != http.StatusOK || call.Request != "POST /graphql Viewer" {
		t.Errorf("call = %+v", call)
	}
	if len(*bodies) != 2 {
		t.Fatalf("%d requests, want the 502 retried once", len(*bodies))
	}
	for _, b := range *bodies {
		if b["query"] != "query Viewer { viewer { login } }" || b["operationName"] != "Viewer" || b["variables"].(map[string]any)["x"] != 1.0 {
			t.Errorf("request body %v", b)
		}
	}
	if got := c.Stats.ByEndpoint()["POST /api/graphql"]; got != 2 {
		t.Errorf("counted %v, want 2 POST /api/graphql", c.Stats.ByEndpoint())
	}
}

func TestPostGraphQLErrors(t *testing.T) {
	const answer = `{"data":{"repository":null},"errors":[{"type":"NOT_FOUND","path":["repository"],"locations":[{"line":2,"column":3}],"message":"Could not resolve to a Repository with the name 'acme/gone'."}]}`
	srv, _ := graphQLServer(t, func(int) (int, string) { return http.StatusOK, answer })
	c := newClient(t, fastOptions(srv.URL+"/api/v3/"))
	call, err := c.PostGraphQL(context.Background(), "Q", "query Q { x }", nil)
	ge, ok := IsGraphQLError(err)
	if !ok {
		t.Fatalf("err = %v, want a GraphQL error", err)
	}
	if string(call.Body) != answer {
		t.Errorf("the body is not kept as received: %s", call.Body)
	}
	if !ge.Types("NOT_FOUND") || ge.Types("FORBIDDEN") {
		t.Errorf("Types: %+v", ge.Errors)
	}
	want := "POST /graphql Q: GraphQL: NOT_FOUND: Could not resolve to a Repository with the name 'acme/gone'. (at repository)"
	if err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
}

func TestPostGraphQLFailures(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"not JSON", `{"data":`, http.StatusOK, "response is not valid JSON"},
		{"not an answer", `[1,2]`, http.StatusOK, "not a GraphQL answer"},
		{"401", `{"message":"Bad credentials","documentation_url":"https://docs.github.com/graphql"}`, http.StatusUnauthorized, "HTTP 401 Unauthorized: Bad credentials"},
		{"always 502", `<html>502</html>`, http.StatusBadGateway, "HTTP 502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := graphQLServer(t, func(int) (int, string) { return tc.status, tc.body })
			c := newClient(t, fastOptions(srv.URL+"/api/v3/"))
			_, err := c.PostGraphQL(context.Background(), "Q", "query Q { x }", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, ok := IsGraphQLError(err); ok {
				t.Errorf("%v is no GraphQL error answer", err)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "127.0.0.1") {
				t.Errorf("error names the token or host: %v", err)
			}
			if errors.Is(err, context.Canceled) {
				t.Error("cancelled")
			}
		})
	}
}

func TestGraphQLOff(t *testing.T) {
	opts := fastOptions("https://api.github.com/")
	if c := newClient(t, opts); !c.GraphQL() {
		t.Error("GraphQL off by default")
	}
	opts.NoGraphQL = true
	if c := newClient(t, opts); c.GraphQL() {
		t.Error("NoGraphQL ignored")
	}
	var c *Client
	if c.GraphQL() {
		t.Error("a nil client allows GraphQL")
	}
}
