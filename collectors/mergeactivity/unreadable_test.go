package mergeactivity

import (
	"strings"
	"testing"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/collectortest"
)

// A pull request whose reviews GitHub answers 502, also on every retry, is
// not_verifiable naming the 502 — never an error finding — and the
// collection incomplete: the signed evidence is an error saying which change
// is missing.
func TestServerErrorAfterRetries(t *testing.T) {
	_, gh := fakeGitHub(t, "testdata/reviews-server-error")
	c := newCollector(t, gh, mustTime(caseNow), 0)
	p, res := collectortest.Record(t, c, collectors.Request{
		Scope: collectors.Scope{Repos: []collectors.Repo{{Owner: "acme", Name: "api"}}}, Window: week(), Policy: NewPolicy()})
	var pr4 evidence.Finding
	for _, f := range p.Findings {
		if f.Target == "github.com/acme/api#4" {
			pr4 = f
		}
	}
	if pr4.Status != evidence.StatusNotVerifiable || !strings.HasPrefix(pr4.Summary, "could not be checked: ") || !strings.Contains(pr4.Summary, "HTTP 502 Bad Gateway") {
		t.Errorf("#4 = %s %q, want not_verifiable naming the 502", pr4.Status, pr4.Summary)
	}
	if want := "1 of 2 changes could not be collected: acme/api#4"; res.Incomplete != want {
		t.Errorf("Incomplete = %q, want %q", res.Incomplete, want)
	}
	if p.Status != evidence.StatusError || p.Reason != "incomplete: "+res.Incomplete {
		t.Errorf("evidence = %s %q, want error with the incompleteness as reason", p.Status, p.Reason)
	}
	if p.Counts[evidence.StatusError] != 0 || p.Counts[evidence.StatusNotVerifiable] != 1 {
		t.Errorf("counts = %v, want one not_verifiable and no error finding", p.Counts)
	}
}

func TestTraceReadError(t *testing.T) {
	for _, tc := range []struct {
		t    Trace
		want string
	}{
		{Trace{}, ""},
		{Trace{Error: "GET commits/x/pulls: HTTP 502"}, "GET commits/x/pulls: HTTP 502"},
		{Trace{Change: &ChangeFacts{Error: "reading reviews: HTTP 502"}}, "reading reviews: HTTP 502"},
		{Trace{Change: &ChangeFacts{}}, ""},
	} {
		if got := tc.t.ReadError(); got != tc.want {
			t.Errorf("ReadError(%+v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}
