package mergeactivity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ghfake"
)

// The sample organisation's commits on acme/payments main (see
// testdata/github/sample-org/README.md).
const (
	merge101   = "4a79ed7b8483b1c9d9584605d912281ca3ff9980"
	merge106   = "3348c411a7f9b249707d9905192602b1cef12d95"
	merge107   = "7cb753f84b141a965a75992841b18c820547ad7b"
	malloryPsh = "b2c15ce40c5f22f320ff63316037e036b54561b7"
)

func TestJudgeCommitOnTheSampleOrg(t *testing.T) {
	srv, gh := fakeGitHub(t, sampleOrg)
	now := mustTime(caseNow)
	for _, tc := range []struct {
		sha     string
		pull    int
		status  evidence.Status
		verdict string
		reqs    int
	}{
		{merge101, 101, evidence.StatusPass, VerdictApproved, 6},
		{merge106, 106, evidence.StatusPass, VerdictEmergency, 6},
		{merge107, 107, evidence.StatusFail, VerdictUnreviewed, 6},
		{malloryPsh, 0, evidence.StatusFail, VerdictDirectPush, 2},
	} {
		before := srv.Requests()
		tr, f, err := JudgeCommit(context.Background(), gh, nil, now, "acme", "payments", "main", tc.sha)
		if err != nil {
			t.Fatalf("%s: %v", tc.sha, err)
		}
		if tr.Pull != tc.pull || f.Status != tc.status || f.Verdict != tc.verdict {
			t.Errorf("%s: pull %d, %s %s (%s); want #%d %s %s", tc.sha[:12], tr.Pull, f.Status, f.Verdict, f.Summary, tc.pull, tc.status, tc.verdict)
		}
		if got := srv.Requests() - before; got != tc.reqs {
			t.Errorf("%s: %d requests, want %d", tc.sha[:12], got, tc.reqs)
		}
		if tr.Change == nil || tr.Change.Population != InTraced || tr.Pulls == nil || tr.Pulls.Status != SourceRead {
			t.Fatalf("%s: trace %+v", tc.sha[:12], tr)
		}
		// The judgement is merge-activity's own, and a pure function of
		// the (serialised) trace.
		if again := Evaluate(*tr.Change, DefaultPolicy(), now); again.Status != f.Status || again.Summary != f.Summary {
			t.Errorf("%s: Evaluate gives %s %q, JudgeCommit %s %q", tc.sha[:12], again.Status, again.Summary, f.Status, f.Summary)
		}
		data, _ := json.Marshal(tr)
		var back Trace
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if g := back.Judge(DefaultPolicy(), now); g.Status != f.Status || g.Verdict != f.Verdict || g.Summary != f.Summary {
			t.Errorf("%s: the serialised trace judges %s %s, want %s %s", tc.sha[:12], g.Status, g.Verdict, f.Status, f.Verdict)
		}
	}
	// A direct push keeps the commit as GitHub sent it.
	tr, _, _ := JudgeCommit(context.Background(), gh, nil, now, "acme", "payments", "main", malloryPsh)
	fx, _ := ghfake.Load(sampleOrg)
	for _, r := range fx.Routes {
		if r.Path == "/repos/acme/payments/commits/"+malloryPsh && !bytes.Equal(r.Body, tr.Commit.Body) {
			t.Error("the direct push's commit is not GitHub's byte for byte")
		}
	}
	// Another policy judges the same facts differently: mallory allowed.
	p := DefaultPolicy()
	p.AllowedPushers = []string{"mallory"}
	if f := tr.Judge(p, now); f.Verdict != VerdictAllowedPush || f.Status != evidence.StatusPass {
		t.Errorf("under allowed_pushers: %s %s", f.Status, f.Verdict)
	}
}

func TestJudgeCommitUnknownAndFailures(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	fx := &ghfake.Fixture{Routes: []ghfake.Route{
		{Path: "/repos/acme/api/commits/" + sha + "/pulls", Status: 403, Body: json.RawMessage(`{"message": "Resource not accessible by personal access token"}`)},
		{Path: "/repos/acme/api/commits/" + strings.Repeat("cd", 20) + "/pulls", Status: 500, Body: json.RawMessage(`{"message": "Server Error"}`)},
		{Path: "/repos/acme/api/commits/" + strings.Repeat("ef", 20) + "/pulls", Body: json.RawMessage(`[]`)},
		{Path: "/repos/acme/api/commits/" + strings.Repeat("ef", 20), Status: 404, Body: json.RawMessage(`{"message": "No commit found for SHA"}`)},
	}}
	_, gh := serveFixture(t, fx)
	now := mustTime(caseNow)

	tr, f, err := JudgeCommit(context.Background(), gh, nil, now, "acme", "api", "main", sha)
	if err != nil || f.Status != evidence.StatusNotVerifiable || !strings.Contains(tr.Unknown, `"Pull requests: read"`) || tr.Change != nil {
		t.Errorf("withheld: %v %s %q %+v", err, f.Status, tr.Unknown, tr)
	}
	tr, f, err = JudgeCommit(context.Background(), gh, nil, now, "acme", "api", "main", strings.Repeat("cd", 20))
	if err == nil || f.Status != evidence.StatusNotVerifiable || !strings.Contains(tr.Error, "HTTP 500") || f.Summary != "could not be checked: "+tr.Error || tr.ReadError() != tr.Error {
		t.Errorf("server error: %v %s %q %q", err, f.Status, f.Summary, tr.Error)
	}
	tr, f, err = JudgeCommit(context.Background(), gh, nil, now, "acme", "api", "main", strings.Repeat("ef", 20))
	if err != nil || f.Status != evidence.StatusNotVerifiable || tr.Commit == nil || tr.Commit.HTTPStatus != 404 {
		t.Errorf("commit withheld: %v %s %+v", err, f.Status, tr.Commit)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := JudgeCommit(ctx, gh, nil, now, "acme", "api", "main", sha); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, f, err := JudgeCommit(context.Background(), nil, nil, now, "acme", "api", "main", sha); err == nil || f.Status != evidence.StatusNotVerifiable {
		t.Errorf("no client: %v %s", err, f.Status)
	}
}

// TestJudgeCommitChoosesThePullThatBroughtIt: of several merged pull
// requests GitHub associates with a commit, the one whose merge commit it
// is, else the earliest merged.
func TestJudgeCommitChoosesThePullThatBroughtIt(t *testing.T) {
	sha, other := strings.Repeat("12", 20), strings.Repeat("34", 20)
	item := func(n int, merged, mergeSHA, base string) string {
		return `{"number": ` + itoa(n) + `, "state": "closed", "title": "t", "user": {"login": "alice", "type": "User"}, "labels": [],
 "updated_at": "` + merged + `", "merged_at": "` + merged + `", "merge_commit_sha": "` + mergeSHA + `",
 "head": {"sha": "` + strings.Repeat("9", 40) + `"}, "base": {"ref": "` + base + `"}}`
	}
	fx := &ghfake.Fixture{Routes: []ghfake.Route{
		{Path: "/repos/acme/api/commits/" + sha + "/pulls", Body: json.RawMessage("[" +
			item(5, "2026-11-17T10:00:00Z", strings.Repeat("aa", 20), "main") + "," +
			item(6, "2026-11-18T10:00:00Z", sha, "main") + "," +
			item(7, "2026-11-16T10:00:00Z", sha, "release") + "]")},
		{Path: "/repos/acme/api/commits/" + other + "/pulls", Body: json.RawMessage("[" +
			item(9, "2026-11-19T10:00:00Z", strings.Repeat("bb", 20), "main") + "," +
			item(8, "2026-11-18T10:00:00Z", strings.Repeat("cc", 20), "main") + "]")},
	}}
	_, gh := serveFixture(t, fx)
	if tr, _, _ := JudgeCommit(context.Background(), gh, nil, mustTime(caseNow), "acme", "api", "main", sha); tr.Pull != 6 {
		t.Errorf("chose #%d, want #6 (its merge commit; #7 merged into another branch)", tr.Pull)
	}
	if tr, _, _ := JudgeCommit(context.Background(), gh, nil, mustTime(caseNow), "acme", "api", "main", other); tr.Pull != 8 {
		t.Errorf("chose #%d, want #8 (merged first)", tr.Pull)
	}
}
