package branchprotection

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/evidence"
)

// Policy says what protection every branch in scope must have.
type Policy struct {
	// MinApprovals is the least number of approving reviews a pull request
	// needs (0 turns the rule off; at most 10, GitHub's ruleset maximum).
	MinApprovals int `yaml:"min_approvals" json:"min_approvals"`
	// DismissStaleApprovals: approvals are dismissed when new commits are
	// pushed.
	DismissStaleApprovals bool `yaml:"dismiss_stale_approvals" json:"dismiss_stale_approvals"`
	// RequireStatusChecks: at least one status check must pass before
	// merging.
	RequireStatusChecks bool `yaml:"require_status_checks" json:"require_status_checks"`
	// RequiredChecks names status checks that must each be required.
	RequiredChecks []string `yaml:"required_checks" json:"required_checks"`
	// NoAdminBypass: every rule met is met by a source no one may bypass.
	NoAdminBypass bool `yaml:"no_admin_bypass" json:"no_admin_bypass"`
	// BlockForcePushes and BlockDeletions protect the branch's history.
	BlockForcePushes bool `yaml:"block_force_pushes" json:"block_force_pushes"`
	BlockDeletions   bool `yaml:"block_deletions" json:"block_deletions"`
	// Optional rules, off by default.
	RequireCodeOwnerReview  bool `yaml:"require_code_owner_review" json:"require_code_owner_review"`
	RequireSignedCommits    bool `yaml:"require_signed_commits" json:"require_signed_commits"`
	RequireLinearHistory    bool `yaml:"require_linear_history" json:"require_linear_history"`
	RequireLastPushApproval bool `yaml:"require_last_push_approval" json:"require_last_push_approval"`
}

// MaxApprovals is the largest min_approvals accepted.
const MaxApprovals = 10

// DefaultPolicy is the policy used when the config has none: one approval,
// stale approvals dismissed, status checks required, no bypass, no force
// pushes, no deletions.
func DefaultPolicy() Policy {
	return Policy{
		MinApprovals:          1,
		DismissStaleApprovals: true,
		RequireStatusChecks:   true,
		RequiredChecks:        []string{},
		NoAdminBypass:         true,
		BlockForcePushes:      true,
		BlockDeletions:        true,
	}
}

// NewPolicy returns a fresh policy holding the defaults.
func NewPolicy() *Policy {
	p := DefaultPolicy()
	return &p
}

// Validate checks the policy.
func (p *Policy) Validate() error {
	var errs []error
	if p.MinApprovals < 0 || p.MinApprovals > MaxApprovals {
		errs = append(errs, fmt.Errorf("min_approvals is %d: want 0 to %d", p.MinApprovals, MaxApprovals))
	}
	for i, c := range p.RequiredChecks {
		if strings.TrimSpace(c) == "" {
			errs = append(errs, fmt.Errorf("required_checks[%d] is empty: want a status check name", i))
		}
	}
	if len(p.RequiredChecks) > 0 && !p.RequireStatusChecks {
		errs = append(errs, errors.New("required_checks lists checks but require_status_checks is false"))
	}
	if len(p.rules()) == 0 {
		errs = append(errs, errors.New("the policy enables no rule: nothing would be checked"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}

// Rule ids, stable: they are recorded in evidence.
const (
	RuleMinApprovals            = "min_approvals"
	RuleDismissStaleApprovals   = "dismiss_stale_approvals"
	RuleRequireCodeOwnerReview  = "require_code_owner_review"
	RuleRequireLastPushApproval = "require_last_push_approval"
	RuleRequireStatusChecks     = "require_status_checks"
	RuleRequiredChecks          = "required_checks"
	RuleBlockForcePushes        = "block_force_pushes"
	RuleBlockDeletions          = "block_deletions"
	RuleRequireSignedCommits    = "require_signed_commits"
	RuleRequireLinearHistory    = "require_linear_history"
	RuleNoAdminBypass           = "no_admin_bypass"
)

// rules lists the rules the policy enables, in evaluation order.
func (p *Policy) rules() []string {
	on := []struct {
		rule string
		on   bool
	}{
		{RuleMinApprovals, p.MinApprovals > 0},
		{RuleDismissStaleApprovals, p.DismissStaleApprovals},
		{RuleRequireCodeOwnerReview, p.RequireCodeOwnerReview},
		{RuleRequireLastPushApproval, p.RequireLastPushApproval},
		{RuleRequireStatusChecks, p.RequireStatusChecks},
		{RuleRequiredChecks, len(p.RequiredChecks) > 0},
		{RuleBlockForcePushes, p.BlockForcePushes},
		{RuleBlockDeletions, p.BlockDeletions},
		{RuleRequireSignedCommits, p.RequireSignedCommits},
		{RuleRequireLinearHistory, p.RequireLinearHistory},
		{RuleNoAdminBypass, p.NoAdminBypass},
	}
	var out []string
	for _, r := range on {
		if r.on {
			out = append(out, r.rule)
		}
	}
	return out
}

// Evaluate judges one branch's facts against the policy: one check per rule
// the policy enables. A rule met by some source passes; a rule no known
// source meets is not_verifiable when a source could not be read, else it
// fails. no_admin_bypass passes when every rule met is met by at least one
// source no one may bypass. The finding fails if any check fails, else is
// not_verifiable if any check is, else passes.
//
// A branch some of whose reads failed after retries (facts.Error) is judged
// on what was read, the rest unknown: it still fails on a rule that was
// read and is not met, and is otherwise not_verifiable, never pass — its
// summary names the failure. A branch none of whose protection was read
// (its repository could not be looked up) is not_verifiable without checks.
func Evaluate(facts BranchFacts, p Policy) evidence.Finding {
	f := evidence.Finding{Target: facts.Target()}
	if facts.Error != "" && !viewBuilt(facts.View) {
		f.Status = evidence.StatusNotVerifiable
		f.Summary = "could not be checked: " + facts.Error
		return f
	}
	ev := evaluator{view: facts.View, branch: facts.Branch, branchMissing: branchNotFound(facts.Classic.Call), failed: readFailures(facts)}
	var outs []outcome
	for _, rule := range p.rules() {
		if rule == RuleNoAdminBypass {
			continue
		}
		outs = append(outs, ev.judgeRule(rule, p))
	}
	for _, o := range outs {
		f.Checks = append(f.Checks, o.check)
	}
	if p.NoAdminBypass {
		f.Checks = append(f.Checks, ev.noAdminBypass(outs))
	}
	f.Status, f.Summary = ev.summarise(f.Checks)
	if facts.Error != "" && f.Status != evidence.StatusError {
		f.Status = evidence.Worse(f.Status, evidence.StatusNotVerifiable)
		f.Summary = "could not be checked: " + facts.Error
		if failed := rulesWith(f.Checks, evidence.StatusFail); len(failed) > 0 {
			f.Summary = "fails " + strings.Join(failed, ", ") + "; " + f.Summary
		}
	}
	return f
}

// viewBuilt reports whether the branch's view was built from its reads,
// each source read or unknown, so that it can be judged.
func viewBuilt(v View) bool {
	return (v.Classic == ClassicProtected || v.Classic == ClassicNotProtected || v.Classic == ClassicUnknown) &&
		(v.Rules == ReadOK || v.Rules == ReadUnknown)
}

// readFailures says which of a branch's reads failed after retries, as
// opposed to being withheld.
func readFailures(facts BranchFacts) failures {
	fl := failures{any: facts.Error != "", classic: facts.Classic.Status == ClassicError, rules: facts.Rules.Status == ReadError,
		rulesets: map[string]bool{}}
	for _, rs := range facts.Rulesets {
		if rs.Status == ReadError {
			fl.rulesets[rulesetKey{sourceType: rs.SourceType, source: rs.Source, id: rs.ID}.sourceID()] = true
		}
	}
	return fl
}

func rulesWith(checks []evidence.Check, st evidence.Status) []string {
	var out []string
	for _, c := range checks {
		if c.Status == st {
			out = append(out, c.Rule)
		}
	}
	return out
}

// summarise gives the finding's status and one line naming every rule not
// met.
func (ev evaluator) summarise(checks []evidence.Check) (evidence.Status, string) {
	failed, unverified := rulesWith(checks, evidence.StatusFail), rulesWith(checks, evidence.StatusNotVerifiable)
	if errs := rulesWith(checks, evidence.StatusError); len(errs) > 0 {
		// Not reached: every rule the policy enables is known.
		return evidence.StatusError, "not judged: " + strings.Join(errs, ", ")
	}
	switch {
	case len(failed) > 0 && len(unverified) > 0:
		return evidence.StatusFail, "fails " + strings.Join(failed, ", ") + "; not verifiable: " + strings.Join(unverified, ", ")
	case len(failed) > 0:
		return evidence.StatusFail, "fails " + strings.Join(failed, ", ")
	case len(unverified) > 0:
		s := "not verifiable: " + strings.Join(unverified, ", ")
		if why := ev.unknownSummary(); why != "" {
			s += " (" + why + ")"
		}
		return evidence.StatusNotVerifiable, s
	}
	return evidence.StatusPass, fmt.Sprintf("meets all %d rules", len(checks))
}

// unknownSummary names briefly what could not be read.
func (ev evaluator) unknownSummary() string {
	var why []string
	if ev.view.Classic == ClassicUnknown {
		why = append(why, "classic protection unreadable")
	}
	if ev.view.Rules == ReadUnknown {
		why = append(why, "rulesets unreadable")
	}
	if slices.ContainsFunc(ev.view.Sources, func(s Source) bool { return s.Bypassable == nil }) {
		why = append(why, "who may bypass is unknown")
	}
	return strings.Join(why, ", ")
}
