package gqlfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/gqlfake"
)

// restCalls counts the in-process REST calls a Handler makes, by path and
// query (page included).
type restCalls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *restCalls) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for k, v := range c.n {
		if p, _, _ := strings.Cut(k, "?"); p == path {
			total += v
		}
	}
	return total
}

// fakeREST is a REST API of canned routes, paged by ghfake, and the count
// of its calls.
func fakeREST(routes ...ghfake.Route) (gqlfake.RESTFunc, *restCalls) {
	srv := ghfake.New(&ghfake.Fixture{Routes: routes})
	calls := &restCalls{n: map[string]int{}}
	return func(_ context.Context, method, apiPath string, q url.Values) (int, []byte) {
		calls.mu.Lock()
		calls.n[apiPath+"?"+q.Encode()]++
		calls.mu.Unlock()
		return srv.Answer(method, apiPath, q)
	}, calls
}

func route(path string, body any) ghfake.Route {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return ghfake.Route{Path: path, Body: b}
}

func failing(path string, status int) ghfake.Route {
	return ghfake.Route{Path: path, Status: status, Body: json.RawMessage(fmt.Sprintf(`{"message":"status %d","documentation_url":"https://docs.github.com/rest"}`, status))}
}

// answer is a decoded GraphQL answer.
type answer struct {
	status int
	header http.Header
	raw    string
	Data   any        `json:"data"`
	Errors []gqlError `json:"errors"`
}

type gqlError struct {
	Type       string         `json:"type"`
	Path       []any          `json:"path"`
	Locations  []any          `json:"locations"`
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// post sends a GraphQL query to h at path and decodes the answer (data and
// errors, when it is JSON).
func post(t testing.TB, h http.Handler, path, query string, vars map[string]any) answer {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return send(t, h, http.MethodPost, path, body)
}

func send(t testing.TB, h http.Handler, method, path string, body []byte) answer {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(body)))
	a := answer{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(strings.NewReader(a.raw))
		dec.UseNumber()
		if err := dec.Decode(&a); err != nil {
			t.Fatalf("answer %d is not JSON: %v\n%s", a.status, err, a.raw)
		}
	}
	return a
}

// at walks decoded JSON by member names and list indexes; missing is nil.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	if v == nil {
		return "<null>"
	}
	return fmt.Sprint(v)
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// pathIs compares an error's path with want.
func pathIs(got []any, want ...any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if str(got[i]) != str(want[i]) {
			return false
		}
	}
	return true
}

// findError is the first error of type typ whose path is path.
func (a answer) findError(typ string, path ...any) (gqlError, bool) {
	for _, e := range a.Errors {
		if e.Type == typ && pathIs(e.Path, path...) {
			return e, true
		}
	}
	return gqlError{}, false
}
