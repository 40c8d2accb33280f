package mergeactivity

// Regression tests from the adversarial review of the GraphQL listing: each
// failed before its fix.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// reviewServe serves a golden case's fixture; mutate may rewrite every
// GraphQL answer (decoded), and fail may answer a REST path itself.
func reviewServe(t *testing.T, dir string, mutate func(ans map[string]any), fail func(w http.ResponseWriter, r *http.Request) bool) *githubapi.Client {
	t.Helper()
	fx := collectorsLoad(t, dir)
	srv := ghfake.New(fx, ghfake.WithToken(testToken))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail != nil && fail(w, r) {
			return
		}
		if mutate == nil || !strings.HasSuffix(r.URL.Path, "/graphql") {
			srv.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		var ans map[string]any
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &ans) != nil {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		mutate(ans)
		b, _ := json.Marshal(ans)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
	})
	_, gh := serveHandler(t, srv, h)
	return gh
}

func collectorsLoad(t *testing.T, dir string) *ghfake.Fixture {
	t.Helper()
	fx, err := ghfake.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// nodesOf is data.repository.pullRequests.nodes of an answer.
func nodesOf(ans map[string]any) []any {
	d, _ := ans["data"].(map[string]any)
	r, _ := d["repository"].(map[string]any)
	p, _ := r["pullRequests"].(map[string]any)
	n, _ := p["nodes"].([]any)
	return n
}

func nodeNumbered(ans map[string]any, number int) (int, map[string]any) {
	for i, n := range nodesOf(ans) {
		m, _ := n.(map[string]any)
		if m != nil && m["number"] == float64(number) {
			return i, m
		}
	}
	return -1, nil
}

func findingFor(fs []evidence.Finding, target string) (evidence.Finding, bool) {
	for _, f := range fs {
		if f.Target == target {
			return f, true
		}
	}
	return evidence.Finding{}, false
}

// A GraphQL error inside a node that nulls a field the listing classifies
// by (mergedAt, labels) leaves the listing unknown: the repository is
// listed over REST, and #8 fails as it does there. (Classified from the
// partial node, #8 left the population and the repository passed as "no
// change reached main".)
func TestNodeErrorOnClassifyingFieldFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name, dir, field string
		number           int
		value            any
		withError        bool
	}{
		{"mergedAt null with an error", "testdata/self-approval-fail", "mergedAt", 8, nil, true},
		{"labels null with an error (re-examined emergency)", "testdata/emergency-reexamined", "labels", 41, nil, true},
		// More than 100 labels, the emergency label not among the first 100:
		// incomplete() sends the node to REST, but only after classifyPulls
		// judged it from the partial labels.
		{"labels beyond the first page (re-examined emergency)", "testdata/emergency-reexamined", "labels", 41,
			map[string]any{"totalCount": 150, "nodes": []any{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gc, p := loadCase(t, tc.dir)
			_, restGH := fakeGitHub(t, tc.dir)
			rest := collect(t, newCollector(t, restGH, gc.Now, 0), gc.Scope, gc.Window, p)
			gh := reviewServe(t, tc.dir, func(ans map[string]any) {
				i, n := nodeNumbered(ans, tc.number)
				if n == nil {
					return
				}
				n[tc.field] = tc.value
				if tc.withError {
					ans["errors"] = []any{map[string]any{"type": "INTERNAL", "message": "Something went wrong while executing your query.",
						"path": []any{"repository", "pullRequests", "nodes", float64(i), tc.field}}}
				}
			}, associatePulls(t, tc.dir))
			res := collect(t, newGraphQLCollector(t, gh, gc.Now, 0), gc.Scope, gc.Window, p)
			target := "github.com/acme/api#" + itoa(tc.number)
			if tc.field == "mergedAt" {
				// On GitHub, commits/{sha}/pulls names #8 for its merge
				// commit: the repository then passes as quiet.
				if f, ok := findingFor(res.Findings, "github.com/acme/api@main"); ok && f.Status == evidence.StatusPass {
					t.Errorf("the repository passes: %q", f.Summary)
				}
			}
			want, _ := findingFor(rest.Findings, target)
			got, ok := findingFor(res.Findings, target)
			if !ok && res.Incomplete == "" {
				t.Errorf("%s (%s over REST) is missing from the GraphQL collection, which is complete; findings: %v", target, want.Status, statusesOf(res.Findings))
			} else if ok && got.Status != want.Status {
				t.Errorf("%s = %s over GraphQL, %s over REST", target, got.Status, want.Status)
			}
		})
	}
}

// associatePulls answers GET commits/{sha}/pulls as GitHub does: the merged
// pull requests of the case's listing whose merge commit is sha.
func associatePulls(t *testing.T, dir string) func(w http.ResponseWriter, r *http.Request) bool {
	b, err := os.ReadFile(filepath.Join(dir, "pulls.json"))
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatal(err)
	}
	return func(w http.ResponseWriter, r *http.Request) bool {
		parts := strings.Split(strings.TrimSuffix(r.URL.Path, "/"), "/")
		if len(parts) < 3 || parts[len(parts)-1] != "pulls" || parts[len(parts)-3] != "commits" {
			return false
		}
		sha := parts[len(parts)-2]
		out := []any{}
		for _, it := range items {
			if it["merge_commit_sha"] == sha && it["merged_at"] != nil {
				out = append(out, it)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
		return true
	}
}

func statusesOf(fs []evidence.Finding) map[string]evidence.Status {
	out := map[string]evidence.Status{}
	for _, f := range fs {
		out[f.Target] = f.Status
	}
	return out
}

// A failure that was established is not lost when another read of the
// same pull request fails after retries: #8 is approved only by its author
// (its reviews were read), its commits answer 502 on every retry, and the
// finding is fail (not not_verifiable: fail outranks it), the collection
// incomplete. Over REST and over GraphQL (where the node showed the
// self-approval, but its commits did not fit the first page).
func TestEstablishedFailSurvivesReadError(t *testing.T) {
	const dir = "testdata/self-approval-fail"
	commits502 := func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/pulls/8/commits") {
			http.Error(w, `{"message":"Server Error"}`, http.StatusBadGateway)
			return true
		}
		return false
	}
	for _, graphql := range []bool{false, true} {
		name := "REST"
		if graphql {
			name = "GraphQL"
		}
		t.Run(name, func(t *testing.T) {
			gc, p := loadCase(t, dir)
			var mutate func(map[string]any)
			if graphql {
				mutate = func(ans map[string]any) {
					if _, n := nodeNumbered(ans, 8); n != nil {
						n["commits"].(map[string]any)["totalCount"] = 300
					}
				}
			}
			gh := reviewServe(t, dir, mutate, commits502)
			c := newCollector(t, gh, gc.Now, 0)
			c.graphql = graphql
			res := collect(t, c, gc.Scope, gc.Window, p)
			f, _ := findingFor(res.Findings, "github.com/acme/api#8")
			if f.Status != evidence.StatusFail {
				t.Errorf("#8 = %s %q, want fail: the self-approval was read", f.Status, f.Summary)
			}
			if res.Incomplete == "" {
				t.Error("the collection is complete although #8's commits could not be read")
			}
		})
	}
}

// GraphQL's RATE_LIMITED (HTTP 200, errors, no data) falls back to REST for
// the repository: the findings are REST's. (Passes: recorded as checked.)
func TestRateLimitedFallsBack(t *testing.T) {
	const dir = "testdata/self-approval-fail"
	gc, p := loadCase(t, dir)
	gh := reviewServe(t, dir, nil, func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/graphql") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for user ID 1."}]}`))
		return true
	})
	res := collect(t, newGraphQLCollector(t, gh, gc.Now, 0), gc.Scope, gc.Window, p)
	f, _ := findingFor(res.Findings, "github.com/acme/api#8")
	if f.Status != evidence.StatusFail || res.Incomplete != "" {
		t.Errorf("#8 = %s, incomplete %q", f.Status, res.Incomplete)
	}
	facts := res.Facts.(*Facts)
	if !strings.Contains(facts.Repos[0].GraphQLFallback, "RATE_LIMITED") {
		t.Errorf("fallback %q", facts.Repos[0].GraphQLFallback)
	}
	b, _ := json.Marshal(facts)
	if bytes.Contains(b, []byte(testToken)) {
		t.Error("the facts hold the token")
	}
	_ = collectors.Scope{}
}

// A pull request updated while the listing is paged moves to the front:
// the next page repeats one already listed (which classifyPulls handles as
// a duplicate) and the moved one is never listed. Here #11, merged in the
// window, is updated (a comment) after page 1; its merge commit, which no
// listed pull request accounts for, names it, so it is a not_verifiable
// change of the population and the collection is incomplete, never a
// complete collection without it.
func TestPullUpdatedDuringPagingIsNotLost(t *testing.T) {
	const dir = "testdata/latest-review-state"
	gc, p := loadCase(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, "pulls.json"))
	if err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		t.Fatal(err)
	}
	// After page 1 (#13), #11 is updated: 11, 13, 12.
	moved := []json.RawMessage{items[2], items[0], items[1]}
	fx := collectorsLoad(t, dir)
	srv := ghfake.New(fx, ghfake.WithToken(testToken), ghfake.WithMaxPerPage(1))
	assoc := associatePulls(t, dir)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if assoc(w, r) {
			return
		}
		page := r.URL.Query().Get("page")
		if strings.HasSuffix(r.URL.Path, "/repos/acme/api/pulls") && page != "" && page != "1" {
			n := int(page[0] - '0')
			if n > len(moved) {
				_, _ = w.Write([]byte("[]"))
				return
			}
			if n < len(moved) {
				q := r.URL.Query()
				q.Set("page", itoa(n+1))
				u := *r.URL
				u.RawQuery = q.Encode()
				w.Header().Set("Link", "<http://"+r.Host+u.String()+`>; rel="next"`)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("[" + string(moved[n-1]) + "]"))
			return
		}
		srv.ServeHTTP(w, r)
	})
	_, gh := serveHandler(t, srv, h)
	_, restGH := fakeGitHub(t, dir)
	want := collect(t, newCollector(t, restGH, gc.Now, 0), gc.Scope, gc.Window, p)
	res := collect(t, newCollector(t, gh, gc.Now, 0), gc.Scope, gc.Window, p)
	if _, ok := findingFor(want.Findings, "github.com/acme/api#11"); !ok {
		t.Fatal("#11 is no finding even unmoved")
	}
	f, ok := findingFor(res.Findings, "github.com/acme/api#11")
	if !ok || f.Status != evidence.StatusNotVerifiable || !strings.Contains(f.Summary, "updated while the listing was paged") {
		t.Errorf("#11 (merged in the window, updated during paging): %+v in %v", f, statusesOf(res.Findings))
	}
	if !strings.Contains(res.Incomplete, "acme/api#11") {
		t.Errorf("Incomplete %q does not name #11", res.Incomplete)
	}
	facts := res.Facts.(*Facts)
	if !slices.ContainsFunc(facts.Population.Items, func(it string) bool { return strings.HasPrefix(it, "github.com/acme/api#11 ") }) {
		t.Errorf("#11 is not in the population %v", facts.Population.Items)
	}
}
