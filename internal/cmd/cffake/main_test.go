package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/internal/fakeapi/fakeapitest"
)

const sampleAccount = "../../../testdata/cloudflare/sample-account"

func TestServesSampleAccountAndStops(t *testing.T) {
	p := fakeapitest.Start(t, run, []string{"--fixture", sampleAccount, "--token-env", "FAKE_CF_TOKEN", "--log-level", "debug"},
		map[string]string{"FAKE_CF_TOKEN": "cf-tok-123"})
	base := p.URL
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/client/v4") {
		t.Fatalf("URL file holds %q; stderr:\n%s", base, p.Logs())
	}
	get := func(token string, path ...string) (int, []byte) {
		p := "/accounts/0123456789abcdef0123456789abcdef/pages/projects/web"
		if len(path) > 0 {
			p = path[0]
		}
		req, _ := http.NewRequest(http.MethodGet, base+p, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := get("cf-tok-123")
	var env struct {
		Success bool `json:"success"`
		Result  struct {
			Name string `json:"name"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &env); status != 200 || err != nil || !env.Success || env.Result.Name != "web" {
		t.Errorf("GET project = %d %.200s", status, body)
	}
	// A Worker's deployments are not paginated, in the sample account as at
	// Cloudflare: page and per_page are ignored, there is no result_info.
	status, body = get("cf-tok-123", "/accounts/0123456789abcdef0123456789abcdef/workers/scripts/payments-api/deployments?page=2&per_page=1")
	var deps struct {
		Result struct {
			Deployments []json.RawMessage `json:"deployments"`
		} `json:"result"`
		ResultInfo json.RawMessage `json:"result_info"`
	}
	if err := json.Unmarshal(body, &deps); status != 200 || err != nil || len(deps.Result.Deployments) != 5 || deps.ResultInfo != nil {
		t.Errorf("GET Worker deployments page 2 of 1 = %d: %d deployments, result_info %s; want all 5, none", status, len(deps.Result.Deployments), deps.ResultInfo)
	}
	if status, _ := get("wrong"); status != http.StatusForbidden {
		t.Errorf("a wrong token got %d", status)
	}
	fakeapitest.CheckLog(t, p.Stop(t), "/client/v4/accounts/", "cf-tok-123")
}

// The command line itself is tested in internal/fakeapi; this checks the
// fixture is this fake's own.
func TestMissingFixture(t *testing.T) {
	fakeapitest.MissingFixture(t, run, "routes.json")
}
