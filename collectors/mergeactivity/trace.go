package mergeactivity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// InTraced is the population of a change collected by JudgeCommit: not a
// window's population, but the change that brought a deployed commit onto
// its branch.
const InTraced = "traced"

// Trace is how a commit reached a branch, as merge-activity collects it: the
// pull request merged into the branch that brought it, or the commit itself
// when none did (a direct push). It holds raw facts only; Judge gives
// merge-activity's judgement of it under a policy.
type Trace struct {
	// Repo is OWNER/NAME, Branch the branch the commit is on, SHA the
	// commit.
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	SHA    string `json:"sha"`
	// Pulls is GET /repos/{o}/{r}/commits/{sha}/pulls, every page: the pull
	// requests GitHub associates with the commit.
	Pulls *Source `json:"pulls"`
	// Pull is the number of the merged pull request into Branch chosen as
	// the change (the one whose merge commit is SHA, else the earliest
	// merged that contains it); 0 for a direct push.
	Pull int `json:"pull,omitempty"`
	// Commit is GET /repos/{o}/{r}/commits/{sha}, read when no merged pull
	// request into Branch brought the commit.
	Commit *Call `json:"commit,omitempty"`
	// Change is the change's facts, collected as merge-activity collects
	// its population; nil when GitHub would not say (Unknown) or a read
	// failed (Error).
	Change *ChangeFacts `json:"change,omitempty"`
	// Unknown says which call GitHub withheld (403, 404) and the
	// permission the token needs.
	Unknown string `json:"unknown,omitempty"`
	// Error says why the trace could not be collected.
	Error string `json:"error,omitempty"`
}

// ReadError says why the trace, or the change it found, could not be
// collected (a read that failed after retries); "" when nothing failed.
func (t Trace) ReadError() string {
	if t.Error != "" {
		return t.Error
	}
	if t.Change != nil {
		return t.Change.Error
	}
	return ""
}

// Target names the traced commit: github.com/owner/repo@abcdef123456.
func (t Trace) Target() string {
	return "github.com/" + strings.ToLower(t.Repo) + "@" + shortSHA(t.SHA)
}

// Judge is merge-activity's finding for the traced change, at time now
// (which decides whether an emergency change's grace period is over): the
// finding Evaluate gives the change, not_verifiable when GitHub would not
// say which change it was or a read failed after retries (the summary then
// names the failure). A pure function of the trace, the policy and now.
func (t Trace) Judge(p Policy, now time.Time) evidence.Finding {
	switch {
	case t.Error != "":
		return evidence.Finding{Target: t.Target(), Status: evidence.StatusNotVerifiable, Summary: "could not be checked: " + t.Error}
	case t.Change != nil:
		return Evaluate(*t.Change, p, now)
	}
	reason := t.Unknown
	if reason == "" {
		reason = "no facts"
	}
	return evidence.Finding{
		Target:  t.Target(),
		Status:  evidence.StatusNotVerifiable,
		Summary: "not verifiable: which change brought commit " + shortSHA(t.SHA) + " onto " + t.Branch + " is unknown: " + reason,
		Checks: []evidence.Check{{
			Rule:   RulePopulation,
			Status: evidence.StatusNotVerifiable,
			Detail: reason,
			Fix:    fmt.Sprintf(`Give the token "Pull requests: read" and "Contents: read" on %s`, t.Repo),
		}},
	}
}

// JudgeCommit finds the change that brought commit sha onto branch of
// owner/repo — the pull request merged into branch whose merge commit is sha
// or which contains it, else the commit itself as a direct push — collects
// its facts with merge-activity's own reads (those of its population), and
// judges it with merge-activity's evaluation under p (nil: the default
// policy) at time now. The caller establishes that sha is on branch.
//
// A call GitHub withholds (403, 404) leaves the trace unknown (its finding
// not_verifiable); a source of the pull request it withholds makes the rules
// needing it not_verifiable, as in merge-activity. Another failure is
// recorded in Trace.Error (a not_verifiable finding naming it) and
// returned; a cancelled context is returned as is.
//
// Requests: 1 page of GET commits/{sha}/pulls per 100 pull requests, then
// 5 for a pull request (as merge-activity reads one) or 1 for a direct push.
func JudgeCommit(ctx context.Context, gh *githubapi.Client, p *Policy, now time.Time, owner, repo, branch, sha string) (Trace, evidence.Finding, error) {
	if p == nil {
		p = NewPolicy()
	}
	t := Trace{Repo: owner + "/" + repo, Branch: branch, SHA: sha}
	if gh == nil {
		err := errors.New("no GitHub client")
		t.Error = err.Error()
		return t, t.Judge(*p, now), err
	}
	fail := func(err error) (Trace, evidence.Finding, error) {
		if ctx.Err() != nil {
			return t, evidence.Finding{}, ctx.Err()
		}
		t.Error = strings.ReplaceAll(err.Error(), "\n", "; ")
		return t, t.Judge(*p, now), err
	}
	g := &gatherer{gh: gh}
	src, nums, err := g.commitPulls(ctx, owner, repo, branch, sha)
	t.Pulls = src
	if err != nil {
		return fail(fmt.Errorf("asking GitHub which pull request brought commit %s of %s: %w", shortSHA(sha), t.Repo, err))
	}
	if src.Status != SourceRead {
		var last Call
		if len(src.Pages) > 0 {
			last = src.Pages[len(src.Pages)-1]
		}
		t.Unknown = collectors.WithheldReason(last, githubapi.PermPulls+" and "+githubapi.PermContents)
		return t, t.Judge(*p, now), nil
	}
	if len(nums) > 0 {
		item, err := chosenPull(src, slices.Sorted(maps.Keys(nums)), sha)
		if err != nil {
			return fail(fmt.Errorf("commit %s of %s: %w", shortSHA(sha), t.Repo, err))
		}
		t.Pull = item.Number
		ch := &ChangeFacts{Kind: KindPull, Repo: t.Repo, Branch: branch, Population: InTraced, Number: item.Number}
		if item.MergeSHA != nil {
			ch.SHA = *item.MergeSHA
		}
		g.readPull(ctx, owner, repo, ch, item)
		if ctx.Err() != nil {
			return t, evidence.Finding{}, ctx.Err()
		}
		t.Change = ch
		if ch.Error != "" {
			return t, t.Judge(*p, now), errors.New(ch.Error)
		}
		return t, t.Judge(*p, now), nil
	}

	call, _, err := g.gh.GetRaw(ctx, fmt.Sprintf("repos/%s/%s/commits/%s", esc(owner), esc(repo), esc(sha)))
	t.Commit = &call
	if err != nil {
		if githubapi.Withheld(call, err) {
			t.Unknown = collectors.WithheldReason(call, githubapi.PermContents)
			return t, t.Judge(*p, now), nil
		}
		return fail(fmt.Errorf("reading commit %s of %s: %w", shortSHA(sha), t.Repo, err))
	}
	var item commitItem
	items, err := parseCommitItems(append(append([]byte{'['}, call.Body...), ']'))
	if err == nil && len(items) == 1 {
		item = items[0]
	} else {
		if err == nil {
			err = errors.New("not one commit")
		}
		return fail(fmt.Errorf("parsing commit %s of %s: %w", shortSHA(sha), t.Repo, err))
	}
	if !strings.EqualFold(item.SHA, sha) && !strings.HasPrefix(strings.ToLower(item.SHA), strings.ToLower(sha)) {
		return fail(fmt.Errorf("GET commits/%s answered commit %s", sha, item.SHA))
	}
	t.Change = &ChangeFacts{Kind: KindDirectPush, Repo: t.Repo, Branch: branch, Population: InTraced, SHA: item.SHA,
		Push: pushView(item, src)}
	return t, t.Judge(*p, now), nil
}

// chosenPull picks, of the merged pull requests into the branch GitHub
// associates with the commit, the one whose merge commit it is, else the
// earliest merged (the one that brought it; later ones merely contain it
// again), lowest number first on a tie.
func chosenPull(src *Source, nums []int, sha string) (pullItem, error) {
	var cands []pullItem
	for i, call := range src.Pages {
		items, err := parsePullItems(call.Body)
		if err != nil {
			return pullItem{}, fmt.Errorf("parsing its pull requests (page %d): %w", i+1, err)
		}
		for _, it := range items {
			if slices.Contains(nums, it.Number) && !slices.ContainsFunc(cands, func(c pullItem) bool { return c.Number == it.Number }) {
				cands = append(cands, it)
			}
		}
	}
	if len(cands) == 0 {
		return pullItem{}, errors.New("no pull request item")
	}
	if i := slices.IndexFunc(cands, func(c pullItem) bool { return c.MergeSHA != nil && strings.EqualFold(*c.MergeSHA, sha) }); i >= 0 {
		return cands[i], nil
	}
	slices.SortFunc(cands, func(a, b pullItem) int {
		return cmp.Or(compareTimes(a.MergedAt, b.MergedAt), cmp.Compare(a.Number, b.Number))
	})
	return cands[0], nil
}
