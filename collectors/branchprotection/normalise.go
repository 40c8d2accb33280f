package branchprotection

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The API documents parsed here are deliberately our own, not go-github's
// typed structs: pointers keep "absent" apart from false and zero.

// protectionDoc is the part of GET .../branches/{branch}/protection judged.
type protectionDoc struct {
	RequiredStatusChecks *struct {
		Strict   *bool    `json:"strict"`
		Contexts []string `json:"contexts"`
		Checks   []struct {
			Context string `json:"context"`
		} `json:"checks"`
	} `json:"required_status_checks"`
	EnforceAdmins              *enabledDoc `json:"enforce_admins"`
	RequiredPullRequestReviews *struct {
		DismissStaleReviews          *bool `json:"dismiss_stale_reviews"`
		RequireCodeOwnerReviews      *bool `json:"require_code_owner_reviews"`
		RequiredApprovingReviewCount *int  `json:"required_approving_review_count"`
		RequireLastPushApproval      *bool `json:"require_last_push_approval"`
		BypassPullRequestAllowances  *struct {
			Users []struct {
				Login string `json:"login"`
			} `json:"users"`
			Teams []struct {
				Slug string `json:"slug"`
			} `json:"teams"`
			Apps []struct {
				Slug string `json:"slug"`
			} `json:"apps"`
		} `json:"bypass_pull_request_allowances"`
	} `json:"required_pull_request_reviews"`
	RequiredLinearHistory *enabledDoc `json:"required_linear_history"`
	AllowForcePushes      *enabledDoc `json:"allow_force_pushes"`
	AllowDeletions        *enabledDoc `json:"allow_deletions"`
	RequiredSignatures    *enabledDoc `json:"required_signatures"`
}

type enabledDoc struct {
	Enabled *bool `json:"enabled"`
}

// enabled returns the setting's state, nil when the object or its field is
// absent.
func (d *enabledDoc) enabled() *bool {
	if d == nil {
		return nil
	}
	return d.Enabled
}

// ruleItem is one element of GET .../rules/branches/{branch}.
type ruleItem struct {
	Type              string          `json:"type"`
	RulesetSourceType string          `json:"ruleset_source_type"`
	RulesetSource     string          `json:"ruleset_source"`
	RulesetID         int64           `json:"ruleset_id"`
	Parameters        json.RawMessage `json:"parameters"`
}

func (it ruleItem) key() rulesetKey {
	return rulesetKey{sourceType: it.RulesetSourceType, source: it.RulesetSource, id: it.RulesetID}
}

// pullRequestParams are the parameters of a pull_request rule.
type pullRequestParams struct {
	RequiredApprovingReviewCount *int  `json:"required_approving_review_count"`
	DismissStaleReviewsOnPush    *bool `json:"dismiss_stale_reviews_on_push"`
	RequireCodeOwnerReview       *bool `json:"require_code_owner_review"`
	RequireLastPushApproval      *bool `json:"require_last_push_approval"`
}

// statusChecksParams are the parameters of a required_status_checks rule.
type statusChecksParams struct {
	RequiredStatusChecks []struct {
		Context string `json:"context"`
	} `json:"required_status_checks"`
	StrictRequiredStatusChecksPolicy *bool `json:"strict_required_status_checks_policy"`
}

// rulesetDoc is the part of GET .../rulesets/{id} judged.
type rulesetDoc struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	SourceType  string `json:"source_type"`
	Source      string `json:"source"`
	Enforcement string `json:"enforcement"`
	// BypassActors is nil when GitHub left the field out, which it does for
	// callers who may not edit the ruleset.
	BypassActors *[]struct {
		ActorID    *int64 `json:"actor_id"`
		ActorType  string `json:"actor_type"`
		BypassMode string `json:"bypass_mode"`
	} `json:"bypass_actors"`
}

// viewInput is what buildView normalises.
type viewInput struct {
	classic    ClassicFacts
	protection *protectionDoc
	rules      RulesFacts
	items      []ruleItem
	rulesets   []RulesetFacts
	docs       map[rulesetKey]*rulesetDoc
}

// buildView normalises classic protection and ruleset rules into one View.
// Classic and rule states that are errors normalise to unknown, as does a
// rule whose parameters cannot be parsed: the branch is judged on the rest
// (see Evaluate).
func buildView(in viewInput) (View, error) {
	v := View{Sources: []Source{}, Settings: emptySettings()}
	v.Classic, v.ClassicNote = classicState(in.classic)
	v.Rules, v.RulesNote = rulesState(in.rules)
	if in.protection != nil {
		addClassic(&v, in.protection)
	}
	sources := map[rulesetKey]Source{}
	for _, rf := range in.rulesets {
		k := rulesetKey{sourceType: rf.SourceType, source: rf.Source, id: rf.ID}
		sources[k] = rulesetSource(rf, in.docs[k])
		v.Sources = append(v.Sources, sources[k])
	}
	var errs []string
	for i, it := range in.items {
		src, ok := sources[it.key()]
		if !ok {
			src = Source{ID: it.key().sourceID(), Kind: kindRuleset, SourceType: it.RulesetSourceType,
				Source: it.RulesetSource, Note: "the rule names no ruleset_id; who may bypass it is unknown"}
			sources[it.key()] = src
			v.Sources = append(v.Sources, src)
		}
		if src.Enforcement != "" && src.Enforcement != "active" {
			continue // recorded in the source; not enforced
		}
		if err := addRule(&v.Settings, it, src); err != nil {
			errs = append(errs, fmt.Sprintf("rule %d (%s): %v", i, it.Type, err))
		}
	}
	if len(errs) > 0 {
		return v, fmt.Errorf("parsing rules: %s", strings.Join(errs, "; "))
	}
	return v, nil
}

func emptySettings() Settings {
	return Settings{
		RequiredApprovals:       []Observation[int]{},
		DismissStaleReviews:     []Observation[bool]{},
		RequireCodeOwnerReview:  []Observation[bool]{},
		RequireLastPushApproval: []Observation[bool]{},
		RequiredStatusChecks:    []Observation[StatusChecks]{},
		ForcePushesBlocked:      []Observation[bool]{},
		DeletionsBlocked:        []Observation[bool]{},
		SignedCommits:           []Observation[bool]{},
		LinearHistory:           []Observation[bool]{},
	}
}

// Permission hints, quoted in the fixes of not_verifiable checks.
const (
	classicPermission = `for branch protection, the fine-grained permission "Administration: read" on the repository ` +
		`(classic token: repo scope and admin access to the repository)`
	rulesPermission = `for branch rules and rulesets, the fine-grained permission "Metadata: read" on the repository ` +
		`(classic token: repo scope for a private repository)`
	bypassPermission = `to see a ruleset's bypass list, which GitHub shows only to callers who may edit the ruleset: ` +
		`"Administration: read and write" on the repository for a repository ruleset (classic token: repo scope and admin access), ` +
		`organisation "Administration: read and write" for an organisation ruleset (classic token: admin:org, as an organisation owner)`
)

// classicState is the view's classic state and, when unknown, why.
func classicState(cf ClassicFacts) (state, note string) {
	switch {
	case cf.Status == ClassicProtected || cf.Status == ClassicNotProtected:
		return cf.Status, ""
	case cf.Status == ClassicError:
		return ClassicUnknown, "branch protection: reading it failed (" + failure(cf.Call) + ")"
	case branchNotFound(cf.Call):
		return ClassicUnknown, "branch protection: GitHub answered 404 (Branch not found): the branch does not exist"
	case cf.Call.HTTPStatus == http.StatusNotFound:
		return ClassicUnknown, "branch protection: GitHub " + answered(cf.Call.HTTPStatus, cf.Call.Message) +
			": the repository or branch does not exist, or the token lacks admin access (GitHub reports that as 404)"
	}
	return ClassicUnknown, "branch protection: GitHub " + answered(cf.Call.HTTPStatus, cf.Call.Message) + ": the token may not read it"
}

func branchNotFound(c Call) bool {
	return c.HTTPStatus == http.StatusNotFound && c.Message == "Branch not found"
}

// rulesState is the view's rules state and, when unknown, why.
func rulesState(rf RulesFacts) (state, note string) {
	var last Call
	if n := len(rf.Pages); n > 0 {
		last = rf.Pages[n-1]
	}
	switch rf.Status {
	case ReadOK:
		return ReadOK, ""
	case ReadError:
		return ReadUnknown, "branch rules: reading them failed (" + failure(last) + ")"
	}
	return ReadUnknown, "branch rules: GitHub " + answered(last.HTTPStatus, last.Message) + ": the rulesets applying to the branch are unknown"
}

// failure describes a read that failed after retries: GitHub's answer, or
// a successful answer whose body could not be parsed.
func failure(c Call) string {
	if c.HTTPStatus >= 200 && c.HTTPStatus < 300 {
		return fmt.Sprintf("GitHub answered %d, but the body could not be parsed", c.HTTPStatus)
	}
	return "GitHub " + answered(c.HTTPStatus, c.Message)
}

// answered renders "answered 403 (Resource not accessible ...)".
func answered(status int, msg string) string {
	if status == 0 {
		return "did not answer (" + msg + ")"
	}
	return fmt.Sprintf("answered %d (%s)", status, orText(msg, http.StatusText(status)))
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// addClassic adds classic protection as a source with its observations.
func addClassic(v *View, p *protectionDoc) {
	src := classicSource(p)
	v.Sources = append(v.Sources, src)
	s := &v.Settings
	obsBool := func(dst *[]Observation[bool], val *bool, bypass *bool) {
		*dst = append(*dst, Observation[bool]{Source: kindClassic, Value: val, Bypassable: bypass})
	}

	// Pull request settings are bypassed by administrators (without
	// enforce_admins) and by the pull request bypass allowances.
	prBypass := or(src.Bypassable, ptr(len(src.PullRequestBypass) > 0))
	if r := p.RequiredPullRequestReviews; r == nil {
		s.RequiredApprovals = append(s.RequiredApprovals, Observation[int]{Source: kindClassic, Value: ptr(0), Bypassable: prBypass})
		for _, dst := range []*[]Observation[bool]{&s.DismissStaleReviews, &s.RequireCodeOwnerReview, &s.RequireLastPushApproval} {
			obsBool(dst, ptr(false), prBypass)
		}
	} else {
		s.RequiredApprovals = append(s.RequiredApprovals, Observation[int]{Source: kindClassic, Value: r.RequiredApprovingReviewCount, Bypassable: prBypass})
		obsBool(&s.DismissStaleReviews, r.DismissStaleReviews, prBypass)
		obsBool(&s.RequireCodeOwnerReview, r.RequireCodeOwnerReviews, prBypass)
		obsBool(&s.RequireLastPushApproval, r.RequireLastPushApproval, prBypass)
	}

	checks := StatusChecks{Contexts: []string{}}
	if rc := p.RequiredStatusChecks; rc != nil {
		checks.Strict = rc.Strict
		checks.Contexts = append(checks.Contexts, rc.Contexts...)
		for _, c := range rc.Checks {
			checks.Contexts = append(checks.Contexts, c.Context)
		}
		checks.Contexts = sortedUnique(checks.Contexts)
	}
	s.RequiredStatusChecks = append(s.RequiredStatusChecks, Observation[StatusChecks]{Source: kindClassic, Value: &checks, Bypassable: src.Bypassable})
	obsBool(&s.ForcePushesBlocked, not(p.AllowForcePushes.enabled()), src.Bypassable)
	obsBool(&s.DeletionsBlocked, not(p.AllowDeletions.enabled()), src.Bypassable)
	obsBool(&s.SignedCommits, p.RequiredSignatures.enabled(), src.Bypassable)
	obsBool(&s.LinearHistory, p.RequiredLinearHistory.enabled(), src.Bypassable)
}

// classicSource describes classic protection: enforce_admins disabled means
// administrators may bypass it.
func classicSource(p *protectionDoc) Source {
	src := Source{ID: kindClassic, Kind: kindClassic, Bypassable: not(p.EnforceAdmins.enabled())}
	switch {
	case src.Bypassable == nil:
		src.Note = "enforce_admins is missing from the response: whether administrators may bypass is unknown"
	case *src.Bypassable:
		src.BypassActors = []string{"repository administrators (enforce_admins is disabled)"}
	}
	if r := p.RequiredPullRequestReviews; r != nil && r.BypassPullRequestAllowances != nil {
		a := r.BypassPullRequestAllowances
		for _, u := range a.Users {
			src.PullRequestBypass = append(src.PullRequestBypass, "user "+u.Login)
		}
		for _, t := range a.Teams {
			src.PullRequestBypass = append(src.PullRequestBypass, "team "+t.Slug)
		}
		for _, ap := range a.Apps {
			src.PullRequestBypass = append(src.PullRequestBypass, "app "+ap.Slug)
		}
	}
	return src
}

// rulesetSource describes a ruleset from its facts and, when readable, its
// document.
func rulesetSource(rf RulesetFacts, doc *rulesetDoc) Source {
	k := rulesetKey{sourceType: rf.SourceType, source: rf.Source, id: rf.ID}
	src := Source{ID: k.sourceID(), Kind: kindRuleset, RulesetID: rf.ID, SourceType: rf.SourceType, Source: rf.Source}
	if doc == nil {
		src.Unreadable = true
		src.Note = "GitHub " + answered(rf.HTTPStatus, rf.Message) + " to the ruleset request: its name and who may bypass it are unknown"
		return src
	}
	src.Name, src.Enforcement = doc.Name, doc.Enforcement
	if doc.Enforcement != "" && doc.Enforcement != "active" {
		src.Note = "enforcement is " + doc.Enforcement + ": its rules are not enforced"
	}
	if doc.BypassActors == nil {
		src.Note = strings.TrimPrefix(src.Note+"; ", "; ") + "GitHub returned the ruleset without bypass_actors, " +
			"which it shows only to callers who may edit the ruleset: who may bypass it is unknown"
		return src
	}
	src.Bypassable = ptr(len(*doc.BypassActors) > 0)
	for _, a := range *doc.BypassActors {
		who := orText(a.ActorType, "actor")
		if a.ActorID != nil {
			who += " " + itoa(*a.ActorID)
		}
		if a.BypassMode != "" {
			who += " (" + a.BypassMode + ")"
		}
		src.BypassActors = append(src.BypassActors, who)
	}
	return src
}

// addRule adds the observations of one ruleset rule. Rule types the policy
// does not judge are left out of the view (they stay in the raw facts). A
// rule whose parameters cannot be parsed is added with its values unknown,
// so that no rule fails for want of a value the source may set.
func addRule(s *Settings, it ruleItem, src Source) error {
	yes := ptr(true)
	obsBool := func(dst *[]Observation[bool], val *bool) {
		*dst = append(*dst, Observation[bool]{Source: src.ID, Value: val, Bypassable: src.Bypassable})
	}
	switch it.Type {
	case "pull_request":
		var p pullRequestParams
		err := decodeParams(it.Parameters, &p)
		if err != nil {
			p = pullRequestParams{}
		}
		s.RequiredApprovals = append(s.RequiredApprovals, Observation[int]{Source: src.ID, Value: p.RequiredApprovingReviewCount, Bypassable: src.Bypassable})
		obsBool(&s.DismissStaleReviews, p.DismissStaleReviewsOnPush)
		obsBool(&s.RequireCodeOwnerReview, p.RequireCodeOwnerReview)
		obsBool(&s.RequireLastPushApproval, p.RequireLastPushApproval)
		return err
	case "required_status_checks":
		var p statusChecksParams
		if err := decodeParams(it.Parameters, &p); err != nil {
			s.RequiredStatusChecks = append(s.RequiredStatusChecks, Observation[StatusChecks]{Source: src.ID, Bypassable: src.Bypassable})
			return err
		}
		checks := StatusChecks{Contexts: []string{}, Strict: p.StrictRequiredStatusChecksPolicy}
		for _, c := range p.RequiredStatusChecks {
			checks.Contexts = append(checks.Contexts, c.Context)
		}
		checks.Contexts = sortedUnique(checks.Contexts)
		s.RequiredStatusChecks = append(s.RequiredStatusChecks, Observation[StatusChecks]{Source: src.ID, Value: &checks, Bypassable: src.Bypassable})
	case "non_fast_forward":
		obsBool(&s.ForcePushesBlocked, yes)
	case "deletion":
		obsBool(&s.DeletionsBlocked, yes)
	case "required_signatures":
		obsBool(&s.SignedCommits, yes)
	case "required_linear_history":
		obsBool(&s.LinearHistory, yes)
	}
	return nil
}

// decodeParams decodes a rule's parameters; absent parameters leave every
// field unknown.
func decodeParams(raw json.RawMessage, dst any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, dst)
}

func sortedUnique(s []string) []string {
	s = slices.DeleteFunc(s, func(c string) bool { return c == "" })
	slices.Sort(s)
	return slices.Compact(s)
}

func ptr[T any](v T) *T { return &v }

// not negates a tri-state.
func not(b *bool) *bool {
	if b == nil {
		return nil
	}
	return ptr(!*b)
}

// or is the tri-state disjunction: true if either is true, unknown if
// either is unknown, else false.
func or(a, b *bool) *bool {
	switch {
	case (a != nil && *a) || (b != nil && *b):
		return ptr(true)
	case a == nil || b == nil:
		return nil
	}
	return ptr(false)
}
