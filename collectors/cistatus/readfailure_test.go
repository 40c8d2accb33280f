package cistatus

import (
	"net/http"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ghfake"
)

// Regression test from the adversarial review: a commit whose check runs were read and show a failure,
// and whose combined status answers 502 on every retry, is not_verifiable
// instead of fail: readCommit records the read error and stops before the
// checks are normalised, so the established red check is never judged
// ("fail outranks not_verifiable").
func TestRedCheckSurvivesStatusReadError(t *testing.T) {
	c1 := cm("c1", "2026-11-17T10:00", ok("ci/build", "2026-11-17T10:00"), bad("ci/test", "2026-11-17T10:00", "failure"))
	fx := memFixture(apiRepo(nil, c1).build(t, "", [2]string{weekStart, weekEnd}))
	srv := ghfake.New(fx, ghfake.WithToken(testToken))
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/commits/"+c1.SHA+"/status") {
			http.Error(w, `{"message":"Server Error"}`, http.StatusBadGateway)
			return
		}
		srv.ServeHTTP(w, req)
	})
	gh := serveHandler(t, srv, h)
	res := collect(t, newCollector(t, gh, mustTime(caseNow), 0), apiScope, week(), NewPolicy())
	f := findingOf(res.Findings, CommitTarget("acme/api", c1.SHA))
	if f.Status != evidence.StatusFail {
		t.Errorf("commit = %s %q, want fail: its check run ci/test failed and was read", f.Status, f.Summary)
	}
	if res.Incomplete == "" {
		t.Error("complete although the status could not be read")
	}
}
