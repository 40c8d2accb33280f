package collectors_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
)

func fakeGitHub(t *testing.T, routes []ghfake.Route, opts ...ghfake.Option) (*ghfake.Server, *githubapi.Client) {
	t.Helper()
	fx := &ghfake.Fixture{Routes: routes}
	if err := fx.Validate(); err != nil {
		t.Fatal(err)
	}
	srv := ghfake.New(fx, append([]ghfake.Option{ghfake.WithToken(collectortest.Token)}, opts...)...)
	_, gh := collectortest.GitHubClient(t, srv, srv, collectortest.Token, collectortest.Logger(t, 0))
	return srv, gh
}

func repoJSON(owner, name string, archived bool) map[string]any {
	return map[string]any{"id": len(name), "name": name, "full_name": owner + "/" + name, "owner": map[string]any{"login": owner, "type": "Organization"},
		"private": true, "archived": archived, "default_branch": "main"}
}

func body(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestListRepos(t *testing.T) {
	srv, gh := fakeGitHub(t, []ghfake.Route{
		{Path: "/orgs/acme/repos", Body: body(t, []any{repoJSON("acme", "api", false), repoJSON("acme", "Old", true), repoJSON("acme", "web", false), repoJSON("acme", "attic", true)})},
	}, ghfake.WithMaxPerPage(2))
	scope := collectors.Scope{Orgs: []string{"acme", "ACME"}, Repos: []collectors.Repo{{Owner: "ACME", Name: "API"}, {Owner: "other", Name: "lib"}}}
	pop, err := collectors.ListRepos(context.Background(), gh, scope)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range pop.Repos {
		got = append(got, r.Repo.FullName()+map[bool]string{true: " lookup"}[r.Lookup])
	}
	// acme is listed once; ACME/API is acme/api; other/lib is read for its
	// default branch.
	if want := []string{"acme/api", "acme/web", "other/lib lookup"}; !slices.Equal(got, want) {
		t.Errorf("repos %q, want %q", got, want)
	}
	if want := []string{"acme/attic", "acme/Old"}; !slices.Equal(pop.SkippedArchived, want) {
		t.Errorf("skipped %q, want %q", pop.SkippedArchived, want)
	}
	if len(pop.Queries) != 1 || pop.Queries[0].Pages != 2 || pop.Queries[0].Items != 4 {
		t.Errorf("queries %+v, want one of 2 pages and 4 items", pop.Queries)
	}
	if srv.Requests() != 2 {
		t.Errorf("%d requests, want 2", srv.Requests())
	}

	scope.Branches = []string{"main"}
	pop, err = collectors.ListRepos(context.Background(), gh, scope)
	if err != nil || pop.Repos[len(pop.Repos)-1].Lookup {
		t.Errorf("with --branch a named repository is not looked up: %+v, %v", pop.Repos, err)
	}
}

func TestListReposFails(t *testing.T) {
	_, gh := fakeGitHub(t, []ghfake.Route{{Path: "/orgs/acme/repos", Status: http.StatusForbidden, Body: json.RawMessage(`{"message":"Forbidden"}`)}})
	pop, err := collectors.ListRepos(context.Background(), gh, collectors.Scope{Orgs: []string{"acme"}})
	if githubapi.HTTPStatus(err) != http.StatusForbidden {
		t.Fatalf("err = %v, want the listing's 403", err)
	}
	if len(pop.Queries) != 1 || pop.Queries[0].Endpoint != "GET /orgs/acme/repos" {
		t.Errorf("queries %+v, want the failed listing's", pop.Queries)
	}
}

func TestReadSource(t *testing.T) {
	items := body(t, []any{map[string]any{"id": 1}, map[string]any{"id": 2}, map[string]any{"id": 3}})
	_, gh := fakeGitHub(t, []ghfake.Route{
		{Path: "/repos/acme/api/items", Body: items},
		{Path: "/repos/acme/api/secret", Status: http.StatusNotFound, Body: json.RawMessage(`{"message":"Not Found"}`)},
		{Path: "/repos/acme/api/broken", Status: http.StatusUnprocessableEntity, Body: json.RawMessage(`{"message":"Validation Failed"}`)},
	}, ghfake.WithMaxPerPage(1))
	ctx := context.Background()

	src, err := collectors.ReadSource(ctx, gh, "repos/acme/api/items?per_page=1", 10)
	if err != nil || src.Status != collectors.SourceRead || len(src.Pages) != 3 {
		t.Fatalf("items: %+v, %v; want 3 pages read", src, err)
	}
	if src.Pages[1].Request != "GET /repos/acme/api/items?per_page=1&page=2" {
		t.Errorf("page 2 asked %q", src.Pages[1].Request)
	}
	src, err = collectors.ReadSource(ctx, gh, "repos/acme/api/items?per_page=1", 2)
	if err == nil || src.Status != collectors.SourceError || !strings.Contains(err.Error(), "pagination does not end") {
		t.Errorf("past maxPages: %+v, %v; want an error", src, err)
	}
	src, err = collectors.ReadSource(ctx, gh, "repos/acme/api/secret?per_page=1", 10)
	if err != nil || src.Status != collectors.SourceUnknown || src.Pages[0].HTTPStatus != http.StatusNotFound {
		t.Errorf("withheld: %+v, %v; want unknown without error", src, err)
	}
	if got := collectors.WithheldReason(src.Pages[0], `"Contents: read"`); got != `GET /repos/acme/api/secret?per_page=1: GitHub answered 404 Not Found; the token needs "Contents: read"` {
		t.Errorf("WithheldReason = %s", got)
	}
	src, err = collectors.ReadSource(ctx, gh, "repos/acme/api/broken?per_page=1", 10)
	if err == nil || src.Status != collectors.SourceError {
		t.Errorf("422: %+v, %v; want an error", src, err)
	}
}

func TestPaths(t *testing.T) {
	if got := collectors.PathQuery("repos/a/b/pulls", map[string]string{"state": "closed", "per_page": "100"}); got != "repos/a/b/pulls?per_page=100&state=closed" {
		t.Errorf("PathQuery = %s", got)
	}
	if got := collectors.WithPage("x?a=1", 1); got != "x?a=1" {
		t.Errorf("WithPage(1) = %s", got)
	}
	if got := collectors.WithPage("x?a=1", 3); got != "x?a=1&page=3" {
		t.Errorf("WithPage(3) = %s", got)
	}
}

func TestNamesAndOrders(t *testing.T) {
	if got := collectors.UniqueFold([]string{"b", "Acme", "acme", "B"}); !slices.Equal(got, []string{"Acme", "b"}) {
		t.Errorf("UniqueFold = %q", got)
	}
	in := []string{"b", "B", "a"}
	slices.SortFunc(in, collectors.CompareFold)
	if !slices.Equal(in, []string{"a", "B", "b"}) {
		t.Errorf("CompareFold order %q", in)
	}
	if got := collectors.SortedUnique([]int{3, 1, 3}); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("SortedUnique = %v", got)
	}
	var many []string
	for i := range collectors.MaxNamed + 2 {
		many = append(many, string(rune('a'+i)))
	}
	if got := collectors.Named(many); !strings.HasSuffix(got, "j and 2 more") || strings.Contains(got, "k") {
		t.Errorf("Named = %s", got)
	}
	if got := collectors.Named([]string{"x", "y"}); got != "x, y" {
		t.Errorf("Named = %s", got)
	}
	if got := collectors.Targets(nil); got == nil || len(got) != 0 {
		t.Errorf("Targets(nil) = %#v, want empty", got)
	}
	fs := []evidence.Finding{{Target: "b"}, {Target: "a"}, {Target: "b"}}
	if got := collectors.Targets(fs); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Targets = %q", got)
	}
}

type testPolicy struct{ bad bool }

func (p *testPolicy) Validate() error {
	if p.bad {
		return errors.New("bad policy")
	}
	return nil
}

func TestPolicyOf(t *testing.T) {
	if p, err := collectors.PolicyOf[testPolicy](&testPolicy{}); err != nil || p == nil {
		t.Errorf("PolicyOf = %v, %v", p, err)
	}
	for _, in := range []any{nil, testPolicy{}, (*testPolicy)(nil), &testPolicy{bad: true}} {
		if _, err := collectors.PolicyOf[testPolicy](in); err == nil {
			t.Errorf("PolicyOf(%#v) accepted", in)
		} else if _, ok := in.(*testPolicy); !ok && !strings.Contains(err.Error(), "want *collectors_test.testPolicy") {
			t.Errorf("PolicyOf(%#v): %v", in, err)
		}
	}
	if _, err := collectors.ValidateWindowed[testPolicy](collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Policy: &testPolicy{}}); err == nil || !strings.HasPrefix(err.Error(), "window: ") {
		t.Errorf("ValidateWindowed without a window: %v", err)
	}
}

func TestDeps(t *testing.T) {
	var d collectors.Deps
	if d.Log("x") == nil || d.Clock() == nil {
		t.Fatal("zero Deps give no logger or clock")
	}
}
