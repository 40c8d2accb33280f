package deployments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/cfapi"
)

func TestCancelledContextFailsTheCollection(t *testing.T) {
	e := newEnv(t, loadGitHub(t, sampleOrg), loadCloudflare(t, sampleAccount), envOptions{})
	c := e.collector(t, mustTime(caseNow))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := c.Collect(ctx, collectors.Request{Scope: repos("acme/payments"), Window: week(), Policy: samplePolicy()})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("Collect with a cancelled context = %v, %v; want context.Canceled", res, err)
	}
}

// TestCancelMidCollection cancels once the trace has started: the
// collection fails rather than returning a partial population.
func TestCancelMidCollection(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen atomic.Int32
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/compare/") && seen.Add(1) == 1 {
				cancel()
			}
			h.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, loadGitHub(t, sampleOrg), loadCloudflare(t, sampleAccount), envOptions{ghWrap: wrap})
	_, err := e.collector(t, mustTime(caseNow)).Collect(ctx, collectors.Request{Scope: repos("acme/payments"), Window: week(), Policy: samplePolicy()})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("error %v, want an interrupted collection", err)
	}
}

// TestWrongCloudflareTokenIsAnError: a token Cloudflare rejects (9109) is a
// failed collection, not a not_verifiable source, and the error holds
// neither token.
func TestWrongCloudflareTokenIsAnError(t *testing.T) {
	const wrong = "WrongTokenWrongTokenWrongTokenWrongToken"
	e := newEnv(t, loadGitHub(t, sampleOrg), loadCloudflare(t, sampleAccount), envOptions{cfClientToken: wrong})
	_, err := e.collector(t, mustTime(caseNow)).Collect(context.Background(), collectors.Request{Scope: repos("acme/payments"), Window: week(), Policy: samplePolicy()})
	if err == nil || !strings.Contains(err.Error(), "9109") || !strings.Contains(err.Error(), "/workers/scripts/payments-api/deployments") {
		t.Fatalf("error %v", err)
	}
	for _, tok := range []string{wrong, cfToken, ghToken} {
		if strings.Contains(fmt.Sprintf("%v %+v", err, err), tok) || strings.Contains(e.logs.String(), tok) {
			t.Error("a token is in the error or the logs")
		}
	}
}

func TestNoGitHubClient(t *testing.T) {
	cf, _ := cfapi.New(cfapi.Options{})
	c := New(collectors.Deps{Cloudflare: cf})
	_, err := c.Collect(context.Background(), collectors.Request{Scope: repos(api), Window: week(), Policy: NewPolicy()})
	if err == nil || !strings.Contains(err.Error(), "no GitHub client") {
		t.Errorf("error %v", err)
	}
}

func TestSameCommitAndCommitOf(t *testing.T) {
	full := fakeSHA("x")
	if !sameCommit(full, full[:7]) || !sameCommit(strings.ToUpper(full[:10]), full) || sameCommit(full, full[:6]) || sameCommit(full, fakeSHA("y")) {
		t.Error("sameCommit")
	}
	p := DefaultPolicy()
	c := Code{Source: "wrangler", Tag: full}
	if sha, _ := commitOf(c, p); sha != "" {
		t.Error("a tag is no commit unless workers_tag_is_commit")
	}
	p.Cloudflare.WorkersTagIsCommit = true
	if sha, link := commitOf(c, p); sha != full || !strings.Contains(link, "workers/tag") {
		t.Errorf("commitOf = %q %q", sha, link)
	}
	for _, src := range interactive {
		if sha, _ := commitOf(Code{Source: src, Tag: full}, p); sha != "" {
			t.Errorf("an interactive edit (%s) is never traced through a tag", src)
		}
	}
	if sha, _ := commitOf(Code{Source: "wrangler", Tag: full[:12]}, p); sha != "" {
		t.Error("an abbreviated tag is no commit")
	}
	upload := Code{UploadCommit: full[:10], Repo: api}
	if sha, _ := commitOf(upload, p); sha != "" {
		t.Error("a Pages direct upload's commit_hash is no commit unless pages_upload_commit_is_commit")
	}
	p.Cloudflare.PagesUploadCommitIsCommit = true
	if sha, link := commitOf(upload, p); sha != full[:10] || !strings.Contains(link, "pages_upload_commit_is_commit") {
		t.Errorf("commitOf = %q %q", sha, link)
	}
}

// TestPagesTrustsOnlyGitIntegrationCommits: the commit_hash of a Git
// integration build is the commit; an upload's is kept as a claim.
func TestPagesTrustsOnlyGitIntegrationCommits(t *testing.T) {
	sha := fakeSHA("pages/trust")
	f := &Facts{Window: week()}
	for trigger, trusted := range map[string]bool{"github:push": true, "deploy_hook": true, "ad_hoc": false, "": false, "push": false} {
		var d pagesDeployment
		d.ID, d.Environment, d.DeploymentTrigger.Type = "d", "production", trigger
		created := mustTime("2026-11-18T10:00:00Z")
		d.CreatedOn = &created
		d.DeploymentTrigger.Metadata = &struct {
			Branch        string `json:"branch"`
			CommitHash    string `json:"commit_hash"`
			CommitMessage string `json:"commit_message"`
			CommitDirty   bool   `json:"commit_dirty"`
		}{Branch: "main", CommitHash: sha}
		c := pagesView(acct, ProjectFacts{Project: "web", Repo: "acme/web"}, d, f).Code[0]
		if got := c.SHA == sha && c.UploadCommit == ""; got != trusted {
			t.Errorf("trigger %q: SHA %q, upload commit %q; trusted %v", trigger, c.SHA, c.UploadCommit, trusted)
		}
		if !trusted && (c.UploadCommit != sha || !strings.Contains(c.Unlinked, "uploader chose")) {
			t.Errorf("trigger %q: the claim is not kept: %+v", trigger, c)
		}
	}
}
