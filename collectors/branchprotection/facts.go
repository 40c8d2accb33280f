package branchprotection

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-github/v62/github"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// Facts are the raw facts of one collection: what GitHub said, kept apart
// from any judgement so the findings can be re-derived under another policy.
type Facts struct {
	// Queries are the organisation listings that made up the population.
	Queries []githubapi.Query `json:"queries"`
	// SkippedArchived names the archived repositories (OWNER/NAME) the
	// listings returned and the collection left out.
	SkippedArchived []string `json:"skipped_archived"`
	// Branches are the facts of every repo@branch, sorted by target.
	Branches []BranchFacts `json:"branches"`
}

// Classic protection states.
const (
	ClassicProtected    = "protected"
	ClassicNotProtected = "not_protected"
	ClassicUnknown      = "unknown"
	ClassicError        = "error"
)

// Read states of the rules endpoint and of rulesets.
const (
	ReadOK      = "read"
	ReadUnknown = "unknown"
	ReadError   = "error"
)

// BranchFacts are the facts of one branch of one repository.
type BranchFacts struct {
	// Repo is OWNER/NAME as GitHub spells it.
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	// DefaultBranch says whether Branch is the repository's default branch;
	// null when the repository was not looked up (branches were given).
	DefaultBranch *bool `json:"default_branch"`
	// Error says which of the branch's reads failed after retries (or why
	// it could not be read at all); its finding is then not_verifiable, or
	// fail on a rule that what was read does not meet, and the collection
	// is incomplete.
	Error    string         `json:"error,omitempty"`
	Classic  ClassicFacts   `json:"classic"`
	Rules    RulesFacts     `json:"rules"`
	Rulesets []RulesetFacts `json:"rulesets"`
	// View is the normalised protection the policy is judged against.
	View View `json:"view"`
}

// Target names the branch in evidence: github.com/owner/repo@branch, the
// owner and repository lower-cased as in collectors.Scope.String.
func (b BranchFacts) Target() string {
	t := "github.com/" + strings.ToLower(b.Repo)
	if b.Branch != "" {
		t += "@" + b.Branch
	}
	return t
}

// Call is one API call and what it returned.
type Call = githubapi.Call

// ClassicFacts are the result of GET
// /repos/{owner}/{repo}/branches/{branch}/protection.
type ClassicFacts struct {
	// Status is protected, not_protected, unknown (GitHub would not say) or
	// error.
	Status string `json:"status"`
	Call
}

// RulesFacts are the result of GET /repos/{owner}/{repo}/rules/branches/{branch},
// one call per page.
type RulesFacts struct {
	// Status is read, unknown (GitHub would not say) or error.
	Status string `json:"status"`
	Pages  []Call `json:"pages"`
}

// RulesetFacts are the result of GET
// /repos/{owner}/{repo}/rulesets/{id}?includes_parents=true for a ruleset
// the branch's rules come from. A ruleset shared by many repositories is
// read once per collection, so the request path is not recorded.
type RulesetFacts struct {
	ID         int64  `json:"id"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	// Status is read, unknown (GitHub would not say) or error.
	Status     string          `json:"status"`
	HTTPStatus int             `json:"http_status"`
	Message    string          `json:"message,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
}

// View is one branch's protection, normalised across classic branch
// protection and rulesets. A nil *bool or *int means unknown, never false.
type View struct {
	// Classic is protected, not_protected or unknown.
	Classic string `json:"classic"`
	// ClassicNote says why Classic is unknown.
	ClassicNote string `json:"classic_note,omitempty"`
	// Rules is read or unknown: whether the branch's ruleset rules are known.
	Rules string `json:"rules"`
	// RulesNote says why Rules is unknown.
	RulesNote string `json:"rules_note,omitempty"`
	// Sources are the places protection comes from, classic first, then
	// rulesets by id.
	Sources  []Source `json:"sources"`
	Settings Settings `json:"settings"`
}

// Source is classic branch protection or one ruleset.
type Source struct {
	// ID is "classic" or "ruleset:ID".
	ID string `json:"id"`
	// Kind is "classic" or "ruleset".
	Kind        string `json:"kind"`
	RulesetID   int64  `json:"ruleset_id,omitempty"`
	Name        string `json:"name,omitempty"`
	SourceType  string `json:"source_type,omitempty"`
	Source      string `json:"source,omitempty"`
	Enforcement string `json:"enforcement,omitempty"`
	// Bypassable says whether someone may bypass this source: for classic
	// protection, enforce_admins disabled; for a ruleset, a non-empty
	// bypass_actors. Null when GitHub did not say.
	Bypassable *bool `json:"bypassable"`
	// BypassActors describes who may bypass.
	BypassActors []string `json:"bypass_actors,omitempty"`
	// PullRequestBypass lists classic protection's
	// bypass_pull_request_allowances: actors who may skip the pull request
	// rules only.
	PullRequestBypass []string `json:"pull_request_bypass,omitempty"`
	// Unreadable: the ruleset itself could not be read.
	Unreadable bool `json:"unreadable,omitempty"`
	// Note says why something about the source is unknown.
	Note string `json:"note,omitempty"`
}

// Label names the source in a finding's detail, e.g. "classic protection"
// or "ruleset 'main protection' (org acme, id 73)".
func (s Source) Label() string {
	if s.Kind == kindClassic {
		return "classic protection"
	}
	where := s.Source
	switch s.SourceType {
	case "Organization":
		where = "org " + s.Source
	case "Repository":
		where = "repository " + s.Source
	case "Enterprise":
		where = "enterprise " + s.Source
	}
	if s.Name == "" {
		return "ruleset " + itoa(s.RulesetID) + " (" + where + ")"
	}
	return "ruleset '" + s.Name + "' (" + where + ", id " + itoa(s.RulesetID) + ")"
}

// Observation is one source's value for a setting. Value is null when the
// source does not say; Bypassable is null when unknown.
type Observation[T any] struct {
	Source     string `json:"source"`
	Value      *T     `json:"value"`
	Bypassable *bool  `json:"bypassable"`
}

// StatusChecks are the required status checks of a source.
type StatusChecks struct {
	// Contexts are the required check names, sorted.
	Contexts []string `json:"contexts"`
	// Strict requires branches to be up to date before merging.
	Strict *bool `json:"strict"`
}

// Settings holds, per setting, every source's observation.
type Settings struct {
	RequiredApprovals       []Observation[int]          `json:"required_approving_review_count"`
	DismissStaleReviews     []Observation[bool]         `json:"dismiss_stale_reviews"`
	RequireCodeOwnerReview  []Observation[bool]         `json:"require_code_owner_review"`
	RequireLastPushApproval []Observation[bool]         `json:"require_last_push_approval"`
	RequiredStatusChecks    []Observation[StatusChecks] `json:"required_status_checks"`
	ForcePushesBlocked      []Observation[bool]         `json:"force_pushes_blocked"`
	DeletionsBlocked        []Observation[bool]         `json:"deletions_blocked"`
	SignedCommits           []Observation[bool]         `json:"signed_commits"`
	LinearHistory           []Observation[bool]         `json:"linear_history"`
}

// Source kinds.
const (
	kindClassic = "classic"
	kindRuleset = "ruleset"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// maxRulePages bounds how many pages of branch rules are followed, against a
// Link header that never ends.
const maxRulePages = 50

// gatherer reads the facts of branches. Safe for concurrent use.
type gatherer struct {
	gh       *githubapi.Client
	rulesets *rulesetCache
}

func newGatherer(gh *githubapi.Client) *gatherer {
	return &gatherer{gh: gh, rulesets: &rulesetCache{entries: map[rulesetKey]*rulesetEntry{}}}
}

// branch gathers the facts of owner/name@branch. Failures are recorded in
// the facts (BranchFacts.Error), never returned: one repository's trouble
// does not stop the others.
func (g *gatherer) branch(ctx context.Context, owner, name, branch string, isDefault *bool) BranchFacts {
	bf := BranchFacts{Repo: owner + "/" + name, Branch: branch, DefaultBranch: isDefault, Rulesets: []RulesetFacts{}}
	var errs []error
	prot, err := g.classic(ctx, owner, name, branch, &bf.Classic)
	errs = append(errs, err)
	items, err := g.rules(ctx, owner, name, branch, &bf.Rules)
	errs = append(errs, err)
	docs := map[rulesetKey]*rulesetDoc{}
	for _, key := range distinctRulesets(items) {
		rf, doc, err := g.rulesets.get(key, func() (RulesetFacts, *rulesetDoc, error) {
			return g.ruleset(ctx, owner, name, key)
		})
		bf.Rulesets = append(bf.Rulesets, rf)
		if doc != nil {
			docs[key] = doc
		}
		errs = append(errs, err)
	}
	view, err := buildView(viewInput{
		classic: bf.Classic, protection: prot, rules: bf.Rules, items: items,
		rulesets: bf.Rulesets, docs: docs,
	})
	errs = append(errs, err)
	bf.View = view
	if err := errors.Join(errs...); err != nil {
		bf.Error = strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return bf
}

// classic reads classic branch protection into cf and returns the parsed
// document when the branch is protected.
func (g *gatherer) classic(ctx context.Context, owner, name, branch string, cf *ClassicFacts) (*protectionDoc, error) {
	path := fmt.Sprintf("repos/%s/%s/branches/%s/protection", esc(owner), esc(name), esc(branch))
	call, _, err := g.get(ctx, path)
	cf.Call = call
	switch {
	case err == nil:
	case githubapi.Withheld(call, err) && call.HTTPStatus == http.StatusNotFound && call.Message == "Branch not protected":
		cf.Status = ClassicNotProtected
		return nil, nil
	case githubapi.Withheld(call, err):
		cf.Status = ClassicUnknown
		return nil, nil
	default:
		cf.Status = ClassicError
		return nil, fmt.Errorf("reading branch protection of %s/%s@%s: %w", owner, name, branch, err)
	}
	var doc protectionDoc
	if err := json.Unmarshal(call.Body, &doc); err != nil {
		cf.Status = ClassicError
		return nil, fmt.Errorf("parsing branch protection of %s/%s@%s: %w", owner, name, branch, err)
	}
	cf.Status = ClassicProtected
	return &doc, nil
}

// rules reads every page of the branch's ruleset rules into rf and returns
// the rule items; nil when GitHub would not say.
func (g *gatherer) rules(ctx context.Context, owner, name, branch string, rf *RulesFacts) ([]ruleItem, error) {
	base := fmt.Sprintf("repos/%s/%s/rules/branches/%s?per_page=100", esc(owner), esc(name), esc(branch))
	rf.Pages = []Call{}
	items := []ruleItem{}
	for page := 1; ; {
		call, resp, err := g.get(ctx, collectors.WithPage(base, page))
		rf.Pages = append(rf.Pages, call)
		if err != nil {
			if githubapi.Withheld(call, err) {
				rf.Status = ReadUnknown
				return nil, nil
			}
			rf.Status = ReadError
			return nil, fmt.Errorf("reading rules of %s/%s@%s: %w", owner, name, branch, err)
		}
		var pageItems []ruleItem
		if err := json.Unmarshal(call.Body, &pageItems); err != nil {
			rf.Status = ReadError
			return nil, fmt.Errorf("parsing rules of %s/%s@%s (page %d): %w", owner, name, branch, page, err)
		}
		items = append(items, pageItems...)
		next := resp.NextPage
		if next == 0 {
			break
		}
		if next <= page || len(rf.Pages) >= maxRulePages {
			rf.Status = ReadError
			return nil, fmt.Errorf("reading rules of %s/%s@%s: pagination does not end (next page %d after page %d)", owner, name, branch, next, page)
		}
		page = next
	}
	rf.Status = ReadOK
	return items, nil
}

// ruleset reads one ruleset, with its parents' (organisation) rulesets
// visible through the repository.
func (g *gatherer) ruleset(ctx context.Context, owner, name string, key rulesetKey) (RulesetFacts, *rulesetDoc, error) {
	rf := RulesetFacts{ID: key.id, SourceType: key.sourceType, Source: key.source}
	path := fmt.Sprintf("repos/%s/%s/rulesets/%d?includes_parents=true", esc(owner), esc(name), key.id)
	call, _, err := g.get(ctx, path)
	rf.HTTPStatus, rf.Message, rf.Body = call.HTTPStatus, call.Message, call.Body
	switch {
	case err == nil:
	case githubapi.Withheld(call, err):
		rf.Status = ReadUnknown
		return rf, nil, nil
	default:
		rf.Status = ReadError
		if call.InvalidBody != "" {
			rf.Message = "response is not valid JSON: " + call.InvalidBody
		}
		return rf, nil, fmt.Errorf("reading ruleset %d (%s) of %s/%s: %w", key.id, key.source, owner, name, err)
	}
	var doc rulesetDoc
	if err := json.Unmarshal(call.Body, &doc); err != nil {
		rf.Status = ReadError
		return rf, nil, fmt.Errorf("parsing ruleset %d (%s) of %s/%s: %w", key.id, key.source, owner, name, err)
	}
	rf.Status = ReadOK
	return rf, &doc, nil
}

// get sends GET path (relative to the API root, with its query) and records
// the call; see githubapi.Client.GetRaw.
func (g *gatherer) get(ctx context.Context, path string) (Call, *github.Response, error) {
	return g.gh.GetRaw(ctx, path)
}

func esc(s string) string { return url.PathEscape(s) }

// rulesetKey identifies a ruleset within a collection.
type rulesetKey struct {
	sourceType, source string
	id                 int64
}

// sourceID is the key of the ruleset's Source in a View.
func (k rulesetKey) sourceID() string { return kindRuleset + ":" + itoa(k.id) }

// distinctRulesets lists the rulesets rule items come from, by id. Items
// naming no ruleset id cannot be looked up and are left out.
func distinctRulesets(items []ruleItem) []rulesetKey {
	seen := map[rulesetKey]bool{}
	var keys []rulesetKey
	for _, it := range items {
		k := it.key()
		if k.id == 0 || seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}

func compareKeys(a, b rulesetKey) int {
	return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.sourceType, b.sourceType), cmp.Compare(a.source, b.source))
}

// rulesetCache reads each ruleset once per collection, however many
// repositories it applies to; concurrent callers wait for the first.
type rulesetCache struct {
	mu      sync.Mutex
	entries map[rulesetKey]*rulesetEntry
}

type rulesetEntry struct {
	done  chan struct{}
	facts RulesetFacts
	doc   *rulesetDoc
	err   error
}

func (c *rulesetCache) get(key rulesetKey, fetch func() (RulesetFacts, *rulesetDoc, error)) (RulesetFacts, *rulesetDoc, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &rulesetEntry{done: make(chan struct{})}
		c.entries[key] = e
	}
	c.mu.Unlock()
	if ok {
		<-e.done
		return e.facts, e.doc, e.err
	}
	e.facts, e.doc, e.err = fetch()
	close(e.done)
	return e.facts, e.doc, e.err
}
