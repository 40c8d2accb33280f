package collectors

import (
	"strings"
	"testing"
)

func TestScopeStringIsCanonicalAndUnambiguous(t *testing.T) {
	a := Scope{Repos: []Repo{{"Acme", "Web"}, {"acme", "api"}}, Branches: []string{"release", "main"}}
	b := Scope{Repos: []Repo{{"acme", "api"}, {"acme", "web"}, {"acme", "api"}}, Branches: []string{"main", "release"}}
	if a.String() != b.String() || a.String() != "github.com/acme/api+github.com/acme/web@main+release" {
		t.Fatalf("%q vs %q", a.String(), b.String())
	}
	for _, br := range []string{"main+release", "a@b", "", "a..b", "-x~", "x.lock"} {
		if err := (Scope{Orgs: []string{"acme"}, Branches: []string{br}}).Validate(); err == nil {
			t.Errorf("branch %q accepted", br)
		}
	}
	for _, r := range []string{"acme", "acme/", "/web", "acme/web/x", "-acme/web", "acme/..", "acme/a b"} {
		if _, err := ParseRepo(r); err == nil {
			t.Errorf("repo %q accepted", r)
		}
	}
	if r, err := ParseRepo("acme/web.site_2"); err != nil || r.String() != "acme/web.site_2" {
		t.Fatalf("%v %v", r, err)
	}
	if err := (Scope{}).Validate(); err == nil || !strings.Contains(err.Error(), "--org") {
		t.Fatalf("empty scope: %v", err)
	}
}

func TestScopeValidateChecksRepos(t *testing.T) {
	err := (Scope{Repos: []Repo{{Owner: "acme", Name: "a b"}}}).Validate()
	if err == nil || !strings.Contains(err.Error(), "--repo") {
		t.Fatalf("invalid repo in scope: %v", err)
	}
}
