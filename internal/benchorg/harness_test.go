package benchorg_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/branchprotection"
	"github.com/changeproof/changeproof/collectors/cistatus"
	"github.com/changeproof/changeproof/collectors/deployments"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/benchorg"
	"github.com/changeproof/changeproof/internal/githubapi"
	"github.com/changeproof/changeproof/internal/secret"
	"github.com/changeproof/changeproof/schedules"
)

// collectorNames are the GitHub collectors, in report order.
var collectorNames = []string{mergeactivity.Name, cistatus.Name, branchprotection.Name, deployments.Name}

func info(t testing.TB, name string) collectors.Info {
	t.Helper()
	reg := collectors.NewRegistry()
	reg.Register(branchprotection.Info())
	reg.Register(mergeactivity.Info())
	reg.Register(cistatus.Info())
	reg.Register(deployments.Info())
	i, err := reg.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// clientOpts are the client's retry settings in tests: short waits, and
// more retries than Faults.MaxConsecutive.
type clientOpts struct {
	retryMax int
	timeout  time.Duration
}

// serve serves org on a loopback httptest server and returns a GitHub
// client for it.
func serve(t testing.TB, org *benchorg.Org, o benchorg.Options, co clientOpts) (*benchorg.Server, *githubapi.Client) {
	t.Helper()
	srv := benchorg.NewServer(org, o)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	if co.retryMax == 0 {
		co.retryMax = 4
	}
	gh, err := githubapi.New(githubapi.Options{
		BaseURL:        srv.URL(hs.URL),
		Token:          secret.New("bench-token-not-a-secret"),
		RetryMax:       co.retryMax,
		RetryWaitMin:   time.Millisecond,
		RetryWaitMax:   5 * time.Millisecond,
		RequestTimeout: co.timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv, gh
}

// collectedAt is the fixed collection time: a day after the activity.
func collectedAt(org *benchorg.Org) time.Time { return org.End.Add(24 * time.Hour) }

// collect runs one collector over the organisation's whole activity.
func collect(t testing.TB, name string, org *benchorg.Org, gh *githubapi.Client) (*collectors.Result, error) {
	t.Helper()
	c := info(t, name).New(collectors.Deps{GitHub: gh, Now: func() time.Time { return collectedAt(org) }})
	req := collectors.Request{
		Scope:  collectors.Scope{Orgs: []string{org.Config.Org}},
		Window: schedules.Window{Start: org.Config.Start, End: org.End},
		Policy: c.NewPolicy(),
	}
	if err := c.Validate(req); err != nil {
		t.Fatalf("%s: Validate: %v", name, err)
	}
	return c.Collect(context.Background(), req)
}

// mustCollect is collect, failing the test on an error or an incomplete
// result.
func mustCollect(t testing.TB, name string, org *benchorg.Org, gh *githubapi.Client) *collectors.Result {
	t.Helper()
	res, err := collect(t, name, org, gh)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.Incomplete != "" {
		t.Fatalf("%s: incomplete: %s", name, res.Incomplete)
	}
	return res
}

// findingsJSON is the findings, as the evidence holds them.
func findingsJSON(t testing.TB, fs []evidence.Finding) string {
	t.Helper()
	b, err := json.MarshalIndent(fs, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// statusCounts counts findings per status.
func statusCounts(fs []evidence.Finding) map[evidence.Status]int {
	m := map[evidence.Status]int{}
	for _, f := range fs {
		m[f.Status]++
	}
	return m
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
