package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/internal/fakeapi/fakeapitest"
)

func TestServesSampleOrgAndStops(t *testing.T) {
	p := fakeapitest.Start(t, run, []string{"--fixture", "../../../testdata/github/sample-org",
		"--token-env", "FAKE_TOKEN", "--log-level", "debug"}, map[string]string{"FAKE_TOKEN": "tok-123"})
	url := p.URL
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/api/v3/") {
		t.Fatalf("URL file holds %q; stderr:\n%s", url, p.Logs())
	}
	req, _ := http.NewRequest(http.MethodGet, url+"orgs/acme/repos", nil)
	req.Header.Set("Authorization", "Bearer tok-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"full_name": "acme/payments"`)) {
		t.Errorf("GET orgs/acme/repos = %d %.200s", resp.StatusCode, body)
	}

	fakeapitest.CheckLog(t, p.Stop(t), "/api/v3/orgs/acme/repos", "tok-123")
}

// The command line itself is tested in internal/fakeapi; this checks the
// fixture is this fake's own.
func TestMissingFixture(t *testing.T) {
	fakeapitest.MissingFixture(t, run, "routes.json")
}
