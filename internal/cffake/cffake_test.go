package cffake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/internal/fakeapi/fakeapitest"
)

const acct = "/accounts/0123456789abcdef0123456789abcdef"

// envelopeJSON is what a test reads of a response.
type envelopeJSON struct {
	Result     json.RawMessage `json:"result"`
	Success    *bool           `json:"success"`
	Errors     []Message       `json:"errors"`
	Messages   []Message       `json:"messages"`
	ResultInfo *resultInfo     `json:"result_info"`
}

func serve(t *testing.T, f *Fixture, opts ...Option) (*Server, string) {
	t.Helper()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	s := New(f, opts...)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, s.URL(hs.URL)
}

func get(t *testing.T, url, token string) (int, envelopeJSON, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var env envelopeJSON
	_ = json.Unmarshal(body, &env)
	return resp.StatusCode, env, body
}

func items(n int) json.RawMessage {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`{"id": "item-%03d",  "n": %d}`, i, i))
	}
	return json.RawMessage("[" + strings.Join(parts, ", ") + "]")
}

func TestEnvelopeKeepsTheResultByteForByte(t *testing.T) {
	result := json.RawMessage(`{"name":  "web", "source": {"type": "github"}}`)
	_, base := serve(t, &Fixture{Routes: []Route{{Path: acct + "/pages/projects/web", Result: result,
		Messages: []Message{{Code: 1, Message: "note"}}}}})
	status, env, body := get(t, base+acct+"/pages/projects/web", "")
	if status != 200 || env.Success == nil || !*env.Success || len(env.Errors) != 0 {
		t.Fatalf("status %d, envelope %s", status, body)
	}
	if !bytes.Equal(env.Result, result) {
		t.Errorf("result %s, want %s byte for byte", env.Result, result)
	}
	if env.ResultInfo != nil {
		t.Errorf("a single object has no result_info: %s", body)
	}
	if len(env.Messages) != 1 || env.Messages[0].Code != 1 {
		t.Errorf("messages %v", env.Messages)
	}
	if !bytes.Contains(body, []byte(`"errors":[]`)) {
		t.Errorf("errors must be an empty array: %s", body)
	}
}

func TestPaginatesArrayResults(t *testing.T) {
	all := items(45)
	var want []json.RawMessage
	_ = json.Unmarshal(all, &want)
	_, base := serve(t, &Fixture{Routes: []Route{{Path: acct + "/pages/projects/web/deployments", Result: all}}})
	var got []json.RawMessage
	for page := 1; page <= 3; page++ {
		status, env, body := get(t, fmt.Sprintf("%s%s/pages/projects/web/deployments?page=%d&per_page=20", base, acct, page), "")
		if status != 200 {
			t.Fatalf("page %d: %d %s", page, status, body)
		}
		var its []json.RawMessage
		if err := json.Unmarshal(env.Result, &its); err != nil {
			t.Fatal(err)
		}
		wantInfo := resultInfo{Page: page, PerPage: 20, Count: min(20, 45-(page-1)*20), TotalCount: 45, TotalPages: 3}
		if env.ResultInfo == nil || *env.ResultInfo != wantInfo {
			t.Errorf("page %d: result_info %+v, want %+v", page, env.ResultInfo, wantInfo)
		}
		got = append(got, its...)
	}
	if len(got) != 45 {
		t.Fatalf("%d items over the pages, want 45", len(got))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("item %d is %s, want %s", i, got[i], want[i])
		}
	}
	// Beyond the last page: an empty page, the same totals.
	_, env, _ := get(t, base+acct+"/pages/projects/web/deployments?page=9&per_page=20", "")
	if string(env.Result) != "[]" || env.ResultInfo.TotalPages != 3 || env.ResultInfo.Count != 0 {
		t.Errorf("page 9: %s %+v", env.Result, env.ResultInfo)
	}
	// Default page size.
	_, env, _ = get(t, base+acct+"/pages/projects/web/deployments", "")
	if env.ResultInfo.PerPage != DefaultPerPage || env.ResultInfo.Count != DefaultPerPage {
		t.Errorf("default page: %+v", env.ResultInfo)
	}
}

func TestPaginatesTheItemsOfAnObjectResult(t *testing.T) {
	result := json.RawMessage(`{"items": ` + string(items(7)) + `, "note": "kept"}`)
	_, base := serve(t, &Fixture{Routes: []Route{{Path: acct + "/workers/scripts/api/versions", Result: result, Items: "items"}}},
		WithMaxPerPage(3))
	status, env, body := get(t, base+acct+"/workers/scripts/api/versions?page=3&per_page=100", "")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var obj struct {
		Items []json.RawMessage `json:"items"`
		Note  string            `json:"note"`
	}
	if err := json.Unmarshal(env.Result, &obj); err != nil {
		t.Fatal(err)
	}
	if len(obj.Items) != 1 || string(obj.Items[0]) != `{"id": "item-006",  "n": 6}` || obj.Note != "kept" {
		t.Errorf("page 3 of 3 (per_page capped at 3): %s", env.Result)
	}
	if want := (resultInfo{Page: 3, PerPage: 3, Count: 1, TotalCount: 7, TotalPages: 3}); *env.ResultInfo != want {
		t.Errorf("result_info %+v, want %+v", *env.ResultInfo, want)
	}
}

// TestUnpagedRoutesServeTheWholeResult: Cloudflare does not paginate a
// Worker's deployments; an unpaged route answers every page request with
// the whole result and no result_info, array or object alike.
func TestUnpagedRoutesServeTheWholeResult(t *testing.T) {
	obj := json.RawMessage(`{"deployments": ` + string(items(45)) + `}`)
	arr := items(45)
	s, base := serve(t, &Fixture{Routes: []Route{
		{Path: acct + "/workers/scripts/api/deployments", Result: obj, Unpaged: true},
		{Path: acct + "/array", Result: arr, Unpaged: true},
	}}, WithMaxPerPage(10))
	for path, want := range map[string]json.RawMessage{acct + "/workers/scripts/api/deployments": obj, acct + "/array": arr} {
		for _, q := range []string{"", "?page=2&per_page=10", "?per_page=5"} {
			status, env, body := get(t, base+path+q, "")
			if status != 200 || !bytes.Equal(env.Result, want) {
				t.Errorf("GET %s%s = %d %.120s, want the whole result byte for byte", path, q, status, body)
			}
			if env.ResultInfo != nil || bytes.Contains(body, []byte("result_info")) {
				t.Errorf("GET %s%s: an unpaged answer has no result_info: %.200s", path, q, body)
			}
		}
	}
	if s.Requests() != 6 {
		t.Errorf("%d requests", s.Requests())
	}
}

func TestFailuresUseTheErrorEnvelope(t *testing.T) {
	s, base := serve(t, &Fixture{Routes: []Route{
		{Path: acct + "/workers/scripts/secret/deployments", Status: 403},
		{Path: acct + "/workers/scripts/gone/deployments", Status: 404, Errors: []Message{{10007, "This Worker does not exist on your account."}}},
		{Path: acct + "/broken", Status: 200, Raw: true, Result: json.RawMessage(`{"result": [1, 2`)},
	}}, WithToken("tok"))
	cases := []struct {
		path   string
		token  string
		status int
		code   int
	}{
		{acct + "/workers/scripts/secret/deployments", "tok", 403, CodeAuthentication},
		{acct + "/workers/scripts/gone/deployments", "tok", 404, 10007},
		{acct + "/nowhere", "tok", 404, CodeNoRoute},
		{acct + "/workers/scripts/secret/deployments", "", 400, CodeBadHeaders},
		{acct + "/workers/scripts/secret/deployments", "wrong", 403, CodeInvalidToken},
	}
	for _, c := range cases {
		status, env, body := get(t, base+c.path, c.token)
		if status != c.status || env.Success == nil || *env.Success || len(env.Errors) != 1 || env.Errors[0].Code != c.code {
			t.Errorf("GET %s (token %q) = %d %s, want %d with error %d", c.path, c.token, status, body, c.status, c.code)
		}
		if string(env.Result) != "null" {
			t.Errorf("GET %s: a failure's result is null, got %s", c.path, env.Result)
		}
	}
	_, _, body := get(t, base+acct+"/broken", "tok")
	if string(body) != `{"result": [1, 2` {
		t.Errorf("raw route served %q", body)
	}
	// Outside the base path.
	hs := httptest.NewServer(s)
	defer hs.Close()
	if status, env, _ := get(t, hs.URL+acct+"/broken", "tok"); status != 404 || env.Errors[0].Code != CodeNoRoute {
		t.Errorf("outside the base path: %d %+v", status, env.Errors)
	}
	if got := s.RequestsByPath(); got[acct+"/workers/scripts/secret/deployments"] != 3 || got[acct+"/broken"] != 2 {
		t.Errorf("requests by path %v", got)
	}
	if s.Requests() != 7 {
		t.Errorf("%d requests counted, want 7", s.Requests())
	}
}

func TestQueryMatchingPrefersTheMostSpecificRoute(t *testing.T) {
	_, base := serve(t, &Fixture{Routes: []Route{
		{Path: acct + "/builds/builds", Result: json.RawMessage(`{"builds": {}}`)},
		{Path: acct + "/builds/builds", Query: map[string]string{"version_ids": "a,b"}, Result: json.RawMessage(`{"builds": {"a": {}}}`)},
	}})
	_, env, _ := get(t, base+acct+"/builds/builds?version_ids=a,b", "")
	if string(env.Result) != `{"builds": {"a": {}}}` {
		t.Errorf("got %s", env.Result)
	}
	_, env, _ = get(t, base+acct+"/builds/builds?version_ids=c", "")
	if string(env.Result) != `{"builds": {}}` {
		t.Errorf("got %s", env.Result)
	}
}

func writeFixture(t *testing.T, routes string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, RoutesFile), []byte(routes), 0o644); err != nil {
		t.Fatal(err)
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	dir := writeFixture(t, `[{"path": "/a", "file": "a.json", "items": "items"}, {"path": "/b", "status": 403}]`,
		map[string]string{"a.json": `{"items": [1, 2]}`})
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Routes) != 2 || string(f.Routes[0].Result) != `{"items": [1, 2]}` {
		t.Errorf("routes %+v", f.Routes)
	}

	bad := []struct{ routes, files, want string }{
		{`[{"path": "/a", "body": {}}]`, "", `unknown field "body"`},
		{`[{"path": "/a", "result": 1}, {"path": "/a", "result": 2}]`, "", "duplicates route 0"},
		{`[{"path": "a", "result": 1}]`, "", "must start with /"},
		{`[{"path": "/a?x=1", "result": 1}]`, "", "must not carry a query"},
		{`[{"path": "/a", "file": "../x.json"}]`, "", "inside the fixture directory"},
		{`[{"path": "/a", "file": "x.json"}]`, "not json", "not valid JSON"},
		{`[{"path": "/a"}]`, "", "needs a file or result"},
		{`[{"path": "/a", "result": {"x": 1}, "items": "items"}]`, "", `no "items" array`},
		{`[{"path": "/a", "status": 404, "result": 1}]`, "", "a failure has no result"},
		{`[{"path": "/a", "result": 1, "errors": [{"code": 1, "message": "x"}]}]`, "", "errors belong to a failure"},
		{`[{"path": "/a", "query": {"page": "2"}, "result": 1}]`, "", "page is the fake's own"},
		{`[{"path": "/a", "status": 99, "result": 1}]`, "", "is not an HTTP status"},
		{`[{"path": "/a", "result": {"items": []}, "items": "items", "unpaged": true}]`, "", "unpaged applies to"},
		{`[{"path": "/a", "status": 403, "unpaged": true}]`, "", "unpaged applies to"},
		{`[{"path": "/a", "result": 1, "raw": true, "unpaged": true}]`, "", "unpaged applies to"},
	}
	for _, b := range bad {
		files := map[string]string{}
		if b.files != "" {
			files["x.json"] = b.files
		}
		_, err := Load(writeFixture(t, b.routes, files))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Load(%s) = %v, want an error containing %q", b.routes, err, b.want)
		}
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load of a directory without routes.json succeeded")
	}
}

func TestListenAndServe(t *testing.T) {
	s := New(&Fixture{Routes: []Route{{Path: "/user/tokens/verify", Result: json.RawMessage(`{"status": "active"}`)}}})
	base, stop := fakeapitest.Listen(t, func(ctx context.Context, addr string, ready func(string) error) error {
		return ListenAndServe(ctx, addr, s, ready)
	})
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/client/v4") {
		t.Errorf("base URL %q", base)
	}
	if status, env, _ := get(t, base+"/user/tokens/verify", ""); status != 200 || string(env.Result) != `{"status": "active"}` {
		t.Errorf("GET = %d %s", status, env.Result)
	}
	if err := stop(); err != nil {
		t.Errorf("ListenAndServe after cancel: %v", err)
	}
}
