package githubapi_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/branchprotection"
	"github.com/changeproof/changeproof/internal/collectortest"
	"github.com/changeproof/changeproof/internal/ghfake"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/secret"
)

// TestCachedSecondRunCostsNotModifiedWithSameFindings collects the sample
// organisation's branch protection twice through the ETag cache, as two
// runs: the second run's settings cost 304s and its facts and findings are
// the first's.
func TestCachedSecondRunCostsNotModifiedWithSameFindings(t *testing.T) {
	fx := collectortest.LoadGitHub(t, "../../testdata/github/sample-org")
	srv := ghfake.New(fx, ghfake.WithToken(collectortest.Token))
	etags := ghfake.ETags(srv)
	hs := httptest.NewServer(etags)
	t.Cleanup(hs.Close)
	dir := filepath.Join(t.TempDir(), "http")
	run := func() (*collectors.Result, *githubapi.Client) {
		gh, err := githubapi.New(githubapi.Options{
			BaseURL: srv.URL(hs.URL), Token: secret.New(collectortest.Token),
			RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond,
			CacheDir: dir,
		})
		if err != nil {
			t.Fatal(err)
		}
		c := branchprotection.New(collectors.Deps{GitHub: gh, Now: time.Now})
		res, err := c.Collect(context.Background(), collectors.Request{Scope: collectors.Scope{Orgs: []string{"acme"}}, Policy: branchprotection.NewPolicy()})
		if err != nil {
			t.Fatal(err)
		}
		return res, gh
	}
	first, gh1 := run()
	second, gh2 := run()
	if gh1.Stats.NotModified() != 0 {
		t.Errorf("first run: %d 304s, want none", gh1.Stats.NotModified())
	}
	// Every 200 of the sample's settings is cached; 403/404 answers are not.
	if n := gh2.Stats.NotModified(); n < 5 || n != etags.NotModified() {
		t.Errorf("second run: %d 304s served (fake answered %d), want the settings' (≥5)", n, etags.NotModified())
	}
	if gh2.Stats.Requests() != gh1.Stats.Requests() {
		t.Errorf("requests %d then %d, want the same", gh1.Stats.Requests(), gh2.Stats.Requests())
	}
	a, _ := json.Marshal(first.Findings)
	b, _ := json.Marshal(second.Findings)
	if string(a) != string(b) {
		t.Errorf("findings differ:\nfirst  %s\nsecond %s", a, b)
	}
	fa, _ := json.Marshal(first.Facts)
	fb, _ := json.Marshal(second.Facts)
	if string(fa) != string(fb) {
		t.Errorf("facts differ:\nfirst  %s\nsecond %s", fa, fb)
	}
}
