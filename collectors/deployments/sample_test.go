package deployments

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
)

// want is a finding's expected status and verdict.
type want struct {
	status  evidence.Status
	verdict string
}

const (
	pay  = "github.com/acme/payments/deployments/"
	wrk  = "cloudflare.com/" + acct + "/workers/payments-api/deployments/"
	pgs  = "cloudflare.com/" + acct + "/pages/web/deployments/"
	pass = evidence.StatusPass
	fail = evidence.StatusFail
	nv   = evidence.StatusNotVerifiable
)

// sampleWant is the demo's expected finding per target, with the default
// policy plus the sample account (testdata/github/sample-org/README.md,
// "Deployments").
func sampleWant() map[string]want {
	return map[string]want{
		pay + "2309554802":                           {pass, VerdictApproved},         // (a) #101 after staging
		pay + "2312907716":                           {pass, VerdictFailedDeployment}, // (e) failed, #106 (emergency, reviewed in time)
		pay + "2313392034":                           {fail, VerdictUnreviewed},       // (c) mallory's direct push
		pay + "2313861245":                           {fail, VerdictUnreviewed},       // (b) #107, emergency never approved
		pay + "2314988120":                           {fail, VerdictOtherBranch},      // (d) release/2026.11
		"github.com/acme/web/deployments":            {pass, VerdictNoDeployments},
		wrk + "f4a9b3e7-1c5d-4f8a-b2e6-9d0c7a1f5e23": {pass, VerdictApproved},         // Workers Builds, #101
		wrk + "c8d2e6f0-4b7a-4e1c-8d3b-5a9f2c6e1b32": {fail, VerdictInteractiveEdit},  // dashboard edit
		wrk + "a3f1d7c9-2e8b-4d6a-9c5f-7b1e0a2d3c41": {pass, VerdictRollback},         // rollback to #101's version
		wrk + "e5b0c8f2-7a3d-4b9e-a1c6-3d2f8e7b6a50": {pass, VerdictApproved},         // split 10% #106 / 90% #101
		pgs + "9f3b6d1e-2a8c-4f7b-b5e9-1c4a7d0e8b26": {pass, VerdictApproved},         // web #201
		pgs + "2c7e1f9a-5b3d-4e8c-9f2a-8d6b4a0c3e58": {pass, VerdictFailedDeployment}, // build failed, #201
		pgs + "4d8f2a6c-9e1b-4c7d-8a3f-6b2e0d9c5a17": {fail, VerdictUnreviewed},       // web #202 (bypass)
	}
}

func checkFindings(t *testing.T, findings []evidence.Finding, wants map[string]want) {
	t.Helper()
	got := map[string]want{}
	for _, f := range findings {
		if _, dup := got[f.Target]; dup {
			t.Errorf("%s judged twice", f.Target)
		}
		got[f.Target] = want{f.Status, f.Verdict}
		if w, ok := wants[f.Target]; !ok {
			t.Errorf("unexpected finding %s: %s %s %s", f.Target, f.Status, f.Verdict, f.Summary)
		} else if w != got[f.Target] {
			t.Errorf("%s: %s %q (%s), want %s %q", f.Target, f.Status, f.Verdict, f.Summary, w.status, w.verdict)
		}
	}
	for _, target := range slices.Sorted(maps.Keys(wants)) {
		if _, ok := got[target]; !ok {
			t.Errorf("no finding for %s", target)
		}
	}
}

// TestSampleOrgAndAccount runs the demo: the sample organisation's
// payments and web repositories and the sample Cloudflare account, so the
// demo data cannot drift from what the README promises.
func TestSampleOrgAndAccount(t *testing.T) {
	e := newEnv(t, loadGitHub(t, sampleOrg), loadCloudflare(t, sampleAccount), envOptions{})
	res := collect(t, e.collector(t, mustTime(caseNow)), repos("acme/payments", "acme/web"), week(), samplePolicy())
	checkFindings(t, res.Findings, sampleWant())
	if res.Incomplete != "" {
		t.Errorf("incomplete: %s", res.Incomplete)
	}
	if res.Requests != int64(e.requests()) {
		t.Errorf("Result.Requests = %d, the fakes saw %d", res.Requests, e.requests())
	}
	if res.Requests != 53 {
		t.Errorf("%d requests, the README says 53 (GitHub %v, Cloudflare %v)", res.Requests, e.gh.RequestsByPath(), e.cf.RequestsByPath())
	}
	facts := res.Facts.(*Facts)
	if facts.Population.Count != 12 {
		t.Errorf("population of %d production deployments, want 12: %v", facts.Population.Count, facts.Population.Items)
	}
	if evidence.Overall(res.Findings) != fail {
		t.Errorf("overall %s", evidence.Overall(res.Findings))
	}
	noTokens(t, res, e)

	// The split deployment keeps both versions and their percentages.
	for _, f := range res.Findings {
		if f.Target != wrk+"e5b0c8f2-7a3d-4b9e-a1c6-3d2f8e7b6a50" {
			continue
		}
		var d Details
		if err := json.Unmarshal(f.Details, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Code) != 2 || d.Code[0].Percentage != 10 || d.Code[1].Percentage != 90 ||
			d.Code[0].Change != "github.com/acme/payments#106" || d.Code[1].Change != "github.com/acme/payments#101" {
			t.Errorf("split deployment details: %+v", d.Code)
		}
	}
}

// TestSampleOrgWholeOrganisation: over --org acme the repository whose
// deployments the token may not list is not_verifiable and the collection
// incomplete; the quiet ones pass.
func TestSampleOrgWholeOrganisation(t *testing.T) {
	e := newEnv(t, loadGitHub(t, sampleOrg), loadCloudflare(t, sampleAccount), envOptions{})
	res := collect(t, e.collector(t, mustTime(caseNow)), collectors.Scope{Orgs: []string{"acme"}}, week(), samplePolicy())
	w := sampleWant()
	w["github.com/acme/docs/deployments"] = want{pass, VerdictNoDeployments}
	w["github.com/acme/legacy/deployments"] = want{pass, VerdictNoDeployments}
	w["github.com/acme/secret-project/deployments"] = want{nv, ""}
	checkFindings(t, res.Findings, w)
	if !strings.Contains(res.Incomplete, "github.com/acme/secret-project") {
		t.Errorf("incomplete %q does not name secret-project", res.Incomplete)
	}
	for _, f := range res.Findings {
		if f.Target == "github.com/acme/secret-project/deployments" && !strings.Contains(f.Summary, `"Deployments: read"`) {
			t.Errorf("the not_verifiable finding does not name the permission: %s", f.Summary)
		}
	}
	noTokens(t, res, e)
}

// TestSampleProvenInNonProductionFirst turns the optional rule on: only the
// GitHub deployment of #101 went to staging first.
func TestSampleProvenInNonProductionFirst(t *testing.T) {
	e := newEnv(t, loadGitHub(t, sampleOrg), loadCloudflare(t, sampleAccount), envOptions{})
	p := samplePolicy()
	p.RequireNonProductionFirst = true
	res := collect(t, e.collector(t, mustTime(caseNow)), repos("acme/payments", "acme/web"), week(), p)
	w := sampleWant()
	// Staging got #101's merge commit before both its production
	// deployments and every Worker deployment of it.
	for _, target := range []string{
		pay + "2312907716",                           // #106: no staging deployment
		pgs + "9f3b6d1e-2a8c-4f7b-b5e9-1c4a7d0e8b26", // the preview built #201's head, not the rebased commit
		pgs + "2c7e1f9a-5b3d-4e8c-9f2a-8d6b4a0c3e58",
		wrk + "e5b0c8f2-7a3d-4b9e-a1c6-3d2f8e7b6a50", // the 10% version, #106, was never in staging
	} {
		w[target] = want{fail, VerdictNotProven}
	}
	checkFindings(t, res.Findings, w)
	for _, f := range res.Findings {
		if f.Target == pay+"2309554802" {
			if !slices.ContainsFunc(f.Checks, func(c evidence.Check) bool {
				return c.Rule == RuleNonProductionFirst && c.Status == pass && strings.Contains(c.Detail, "staging")
			}) {
				t.Errorf("#101's production deployment is not proven by staging: %+v", f.Checks)
			}
		}
	}
	// The staging deployment's statuses were read for the rule.
	if got := e.gh.RequestsByPath()["/repos/acme/payments/deployments/2309318867/statuses"]; got != 1 {
		t.Errorf("staging statuses read %d times", got)
	}
}

// noTokens asserts that neither token appears in the evidence or the logs.
func noTokens(t *testing.T, res *collectors.Result, e *env) {
	t.Helper()
	data, err := json.Marshal(struct {
		Facts    any
		Findings []evidence.Finding
		Inc      string
	}{res.Facts, res.Findings, res.Incomplete})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{ghToken, cfToken} {
		if strings.Contains(string(data), tok) {
			t.Errorf("a token is in the evidence")
		}
		if strings.Contains(e.logs.String(), tok) {
			t.Errorf("a token is in the logs")
		}
	}
	if !strings.Contains(e.logs.String(), "level=") {
		t.Errorf("nothing was logged; the token check would prove nothing: %q", e.logs.String())
	}
}
