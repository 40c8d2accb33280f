package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/changeproof/changeproof/internal/ghfake"
)

// fakeGitHub serves a fixture under a non-empty base path and returns a client.
func fakeGitHub(t *testing.T, fx *ghfake.Fixture, opts ...ghfake.Option) (*ghfake.Server, *Client) {
	t.Helper()
	srv := ghfake.New(fx, opts...)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := New(Options{BaseURL: srv.URL(hs.URL), RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// repoItemJSON is a repository object with the fields of GitHub's
// minimal-repository shape that matter here.
func repoItemJSON(owner, name, branch string, archived, private bool) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id": %d, "node_id": "R_x", "name": %q, "full_name": %q,
		"owner": {"login": %q, "id": 9919, "type": "Organization", "site_admin": false},
		"private": %t, "fork": false, "default_branch": %q, "archived": %t, "disabled": false, "visibility": "internal"}`,
		len(name), name, owner+"/"+name, owner, private, branch, archived))
}

func listing(items ...json.RawMessage) json.RawMessage {
	b, _ := json.Marshal(items)
	return b
}

func TestListOrgReposPaginates(t *testing.T) {
	names := []string{"zeta", "Alpha", "beta", "old", "gamma", "delta", "epsilon"}
	var items []json.RawMessage
	for _, n := range names {
		items = append(items, repoItemJSON("acme", n, "main", n == "old", n == "beta"))
	}
	fx := &ghfake.Fixture{Routes: []ghfake.Route{{Path: "/orgs/acme/repos", Body: listing(items...)}}}
	srv, c := fakeGitHub(t, fx, ghfake.WithMaxPerPage(3))

	repos, q, err := c.ListOrgRepos(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range repos {
		got = append(got, r.Name)
	}
	if want := "Alpha beta delta epsilon gamma old zeta"; strings.Join(got, " ") != want {
		t.Errorf("names = %v, want every repository sorted by name: %s", got, want)
	}
	wantQ := Query{Endpoint: "GET /orgs/acme/repos", Params: map[string]string{"type": "all", "per_page": "100"}, Pages: 3, Items: 7}
	if !reflect.DeepEqual(q, wantQ) {
		t.Errorf("query = %+v, want %+v", q, wantQ)
	}
	if n := srv.RequestsByPath()["/orgs/acme/repos"]; n != 3 {
		t.Errorf("listing requests = %d, want 3", n)
	}
	for _, r := range repos {
		if r.Owner != "acme" || r.DefaultBranch != "main" || r.Archived != (r.Name == "old") || r.Private != (r.Name == "beta") {
			t.Errorf("repo %+v", r)
		}
	}
}

func TestListOrgReposSampleOrg(t *testing.T) {
	fx, err := ghfake.Load("../../testdata/github/sample-org")
	if err != nil {
		t.Fatal(err)
	}
	_, c := fakeGitHub(t, fx)
	repos, q, err := c.ListOrgRepos(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	want := []RepoInfo{
		{Owner: "acme", Name: "docs", DefaultBranch: "main"},
		{Owner: "acme", Name: "legacy", DefaultBranch: "main", Private: true},
		{Owner: "acme", Name: "old-site", DefaultBranch: "main", Archived: true},
		{Owner: "acme", Name: "payments", DefaultBranch: "main", Private: true},
		{Owner: "acme", Name: "secret-project", DefaultBranch: "main", Private: true},
		{Owner: "acme", Name: "web", DefaultBranch: "main"},
	}
	if !reflect.DeepEqual(repos, want) {
		t.Errorf("repos = %+v\nwant %+v", repos, want)
	}
	if q.Pages != 1 || q.Items != 6 {
		t.Errorf("query = %+v", q)
	}
}

func TestListOrgReposErrors(t *testing.T) {
	_, c := fakeGitHub(t, &ghfake.Fixture{})
	_, q, err := c.ListOrgRepos(context.Background(), "acme")
	if err == nil {
		t.Fatal("want an error for an unknown organisation")
	}
	var ge *github.ErrorResponse
	if !errors.As(err, &ge) || HTTPStatus(err) != http.StatusNotFound || Message(err) != "Not Found" {
		t.Errorf("err = %v: want go-github's 404 reachable", err)
	}
	if !strings.HasPrefix(err.Error(), "listing repositories of org acme") {
		t.Errorf("err = %q, want it to name the organisation", err)
	}
	if q.Pages != 0 || q.Endpoint != "GET /orgs/acme/repos" {
		t.Errorf("query = %+v", q)
	}

	fx := &ghfake.Fixture{Routes: []ghfake.Route{{Path: "/orgs/acme/repos", Body: json.RawMessage(`[{"id": 1, "name": ""}]`)}}}
	_, c = fakeGitHub(t, fx)
	if _, _, err := c.ListOrgRepos(context.Background(), "acme"); err == nil || !strings.Contains(err.Error(), "no name") {
		t.Errorf("nameless repository: err = %v", err)
	}
	fx = &ghfake.Fixture{Routes: []ghfake.Route{{Path: "/orgs/acme/repos", Body: json.RawMessage(`{"not": "a list"}`)}}}
	_, c = fakeGitHub(t, fx)
	if _, _, err := c.ListOrgRepos(context.Background(), "acme"); err == nil {
		t.Error("an object instead of a list should be an error")
	}
}

func TestGetRepo(t *testing.T) {
	fx := &ghfake.Fixture{Routes: []ghfake.Route{{Path: "/repos/acme/api", Body: repoItemJSON("acme", "api", "trunk", false, true)}}}
	_, c := fakeGitHub(t, fx)
	r, err := c.GetRepo(context.Background(), "acme", "api")
	if err != nil {
		t.Fatal(err)
	}
	if want := (RepoInfo{Owner: "acme", Name: "api", DefaultBranch: "trunk", Private: true}); r != want {
		t.Errorf("GetRepo = %+v, want %+v", r, want)
	}
	if r.FullName() != "acme/api" {
		t.Errorf("FullName = %q", r.FullName())
	}
	_, err = c.GetRepo(context.Background(), "acme", "gone")
	if err == nil || HTTPStatus(err) != http.StatusNotFound || !strings.HasPrefix(err.Error(), "getting repository acme/gone") {
		t.Errorf("err = %v, want a wrapped 404 naming the repository", err)
	}
}
