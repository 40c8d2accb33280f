package fakeapi

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type testRoute struct {
	Method string            `json:"method,omitempty"`
	Path   string            `json:"path"`
	Query  map[string]string `json:"query,omitempty"`
	Status int               `json:"status,omitempty"`
	File   string            `json:"file,omitempty"`
	Body   json.RawMessage   `json:"body,omitempty"`
}

func (r testRoute) spec() Spec {
	return Spec{Method: r.Method, Path: r.Path, Query: r.Query, Status: r.Status}
}

func (r *testRoute) resolve(dir string) error {
	b, err := ReadBodyFile(dir, r.File, r.Body, "body")
	r.Body = b
	return err
}

func TestReadRoutes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("a.json", `[1, 2]`)
	ok := write("ok.json", `[{"path": "/a", "file": "a.json"}, {"path": "/b", "body": {"x": 1}}]`)
	routes, err := ReadRoutes("loading fixture", ok, dir, (*testRoute).resolve, testRoute.spec)
	if err != nil || len(routes) != 2 || string(routes[0].Body) != `[1, 2]` || string(routes[1].Body) != `{"x": 1}` {
		t.Fatalf("ReadRoutes = %+v, %v", routes, err)
	}
	for data, want := range map[string]string{
		`[{"path": "/a", "colour": "red"}]`:               `unknown field "colour"`,
		`[{"path": "/a", "file": "../x.json"}]`:           `route 0 (/a): file "../x.json" must be a relative path inside the fixture directory`,
		`[{"path": "/a", "file": "a.json", "body": [1]}]`: `route 0 (/a): give file or body, not both`,
		`[{"path": "/a", "file": "none.json"}]`:           `none.json`,
	} {
		bad := write("bad.json", data)
		_, err := ReadRoutes("loading fixture", bad, dir, (*testRoute).resolve, testRoute.spec)
		if err == nil || !strings.HasPrefix(err.Error(), "loading fixture "+bad+": ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", data, err, want)
		}
	}
	if _, err := ReadRoutes("loading fixture", filepath.Join(dir, "missing.json"), dir, (*testRoute).resolve, testRoute.spec); err == nil || !strings.HasPrefix(err.Error(), "loading fixture: ") {
		t.Errorf("missing file: %v", err)
	}
}

func TestValidate(t *testing.T) {
	own := func(i int, r testRoute) error {
		if r.Path == "/own" {
			return os.ErrInvalid
		}
		return nil
	}
	for _, c := range []struct {
		routes []testRoute
		want   string
	}{
		{[]testRoute{{Path: "a"}}, `route 0: path "a" must start with /`},
		{[]testRoute{{Path: "/a?x=1"}}, `must not carry a query; use "query"`},
		{[]testRoute{{Path: "/a", Status: 99}}, `route 0 (/a): status 99 is not an HTTP status`},
		{[]testRoute{{Path: "/own"}}, os.ErrInvalid.Error()},
		{[]testRoute{{Path: "/a", Query: map[string]string{"per_page": "1"}}}, `per_page is the fake's own query parameter`},
		{[]testRoute{{Path: "/a", Query: map[string]string{"x": "1"}}, {Method: "get", Path: "/a", Query: map[string]string{"x": "1"}}}, `route 1 (/a) duplicates route 0`},
	} {
		if err := Validate(c.routes, testRoute.spec, own); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.routes, err, c.want)
		}
	}
	fine := []testRoute{{Path: "/a"}, {Method: "POST", Path: "/a"}, {Path: "/a", Query: map[string]string{"x": "1"}}}
	if err := Validate(fine, testRoute.spec, own); err != nil {
		t.Errorf("distinct routes: %v", err)
	}
}

func TestRoutesMatchTheMostSpecific(t *testing.T) {
	var rs Routes[string]
	rs.Add(Spec{Path: "/a"}, "plain")
	rs.Add(Spec{Path: "/a", Query: map[string]string{"x": "1"}}, "x")
	rs.Add(Spec{Path: "/a", Query: map[string]string{"y": "2"}}, "y")
	rs.Add(Spec{Path: "/a", Query: map[string]string{"x": "1", "y": "2"}}, "xy")
	rs.Add(Spec{Method: "post", Path: "/a"}, "post")
	for q, want := range map[string]string{"": "plain", "x=1": "x", "y=2&x=2": "y", "x=1&y=2": "xy", "x=1&x=3&y=2": "xy"} {
		v, _ := url.ParseQuery(q)
		if got, ok := rs.Match("GET", "/a", v); !ok || got != want {
			t.Errorf("GET /a?%s = %q, %v; want %q", q, got, ok, want)
		}
	}
	if got, ok := rs.Match("POST", "/a", nil); !ok || got != "post" {
		t.Errorf("POST /a = %q, %v", got, ok)
	}
	if _, ok := rs.Match("GET", "/b", nil); ok {
		t.Error("GET /b matched")
	}
}

func TestPageAndJoin(t *testing.T) {
	q, _ := url.ParseQuery("page=3&per_page=2")
	if page, per, start, end := Page(q, 30, 100, 5); page != 3 || per != 2 || start != 4 || end != 5 {
		t.Errorf("Page = %d %d %d %d", page, per, start, end)
	}
	q, _ = url.ParseQuery("page=0&per_page=500")
	if page, per, start, end := Page(q, 30, 100, 5); page != 1 || per != 100 || start != 0 || end != 5 {
		t.Errorf("Page out of range = %d %d %d %d", page, per, start, end)
	}
	items := []json.RawMessage{json.RawMessage(`{"a": 1}`), json.RawMessage(`2`)}
	if got := string(JoinArray(items)); got != `[{"a": 1},2]` {
		t.Errorf("JoinArray = %s", got)
	}
	obj := map[string]json.RawMessage{"z": json.RawMessage(`[ 1 ]`), "a": json.RawMessage(`"x"`)}
	if got := string(JoinObject(obj, ", ", ": ")); got != `{"a": "x", "z": [ 1 ]}` {
		t.Errorf("JoinObject = %s", got)
	}
}

func TestCore(t *testing.T) {
	c := Core{BasePath: "/api/v3/", Token: "tok"}
	c.SetBasePath("/")
	c.SetBasePath("//")
	if c.BasePath != "/api/v3/" {
		t.Errorf("\"/\" changed the base path to %q", c.BasePath)
	}
	c.SetBasePath("client/v4")
	if p, ok := c.APIPath("/client/v4/a/b"); !ok || p != "/a/b" {
		t.Errorf("APIPath = %q, %v", p, ok)
	}
	if p, ok := c.APIPath("/elsewhere"); ok || p != "/elsewhere" {
		t.Errorf("APIPath outside = %q, %v", p, ok)
	}
	if c.Count("/a") != 1 || c.Count("/a") != 2 || c.Count("/b") != 3 || c.Requests() != 3 {
		t.Error("Count does not number requests")
	}
	by := c.RequestsByPath()
	by["/a"] = 99
	if got := c.RequestsByPath(); got["/a"] != 2 || got["/b"] != 1 {
		t.Errorf("RequestsByPath = %v", got)
	}
	r := httptest.NewRequest("GET", "/", nil)
	for header, want := range map[string]bool{"": false, "Bearer tok": true, "bearer tok": true, "token tok": false, "Bearer other": false, "Bearertok": false} {
		r.Header.Set("Authorization", header)
		tok, ok := Credentials(r, "Bearer")
		if got := ok && c.TokenIs(tok); got != want {
			t.Errorf("Authorization %q accepted = %v, want %v", header, got, want)
		}
	}
}
