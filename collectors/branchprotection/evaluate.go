package branchprotection

import (
	"fmt"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/evidence"
)

// evaluator judges one branch's view.
type evaluator struct {
	view   View
	branch string
	// branchMissing: GitHub said the branch does not exist.
	branchMissing bool
	// failed says which reads failed after retries: no permission makes
	// those readable.
	failed failures
}

// failures are the reads of a branch that failed after retries (5xx,
// network, a body that is not JSON, the rate limit), as opposed to those
// GitHub withheld (403, 404).
type failures struct {
	any, classic, rules bool
	// rulesets holds the source ids of the rulesets that failed.
	rulesets map[string]bool
}

// outcome is a judged rule plus what no_admin_bypass needs: the items met
// and the sources meeting each.
type outcome struct {
	check evidence.Check
	met   []metItem
	// uncertain: an unreadable source might also meet the rule.
	uncertain bool
}

// metItem is one thing a rule requires (the rule itself, or one required
// check) and the observations meeting it.
type metItem struct {
	what string
	by   []meeting
}

type meeting struct {
	source     string
	bypassable *bool
}

// setting describes how to judge one setting against its observations.
type setting[T any] struct {
	rule string
	// field names the setting in "X does not report FIELD".
	field    string
	obs      []Observation[T]
	meets    func(T) bool
	describe func(T) string
	// want is the policy's demand, e.g. "at least 1 approval".
	want string
	fix  string
}

func (ev evaluator) judgeRule(rule string, p Policy) outcome {
	s := ev.view.Settings
	b := ev.branch
	switch rule {
	case RuleMinApprovals:
		n := p.MinApprovals
		return judge(ev, setting[int]{rule: rule, field: "required_approving_review_count", obs: s.RequiredApprovals,
			meets:    func(v int) bool { return v >= n },
			describe: func(v int) string { return "requires " + plural(v, "approval") },
			want:     "at least " + plural(n, "approval"),
			fix: fmt.Sprintf(`Settings → Branches → add or edit the branch protection rule for %s → Require a pull request before merging → Require approvals: %d; `+
				`or add a "Require a pull request before merging" rule requiring %s to a ruleset targeting %s (Settings → Rules → Rulesets)`, b, n, plural(n, "approval"), b)})
	case RuleDismissStaleApprovals:
		return judgeBool(ev, rule, "dismiss_stale_reviews", s.DismissStaleReviews, "dismisses stale approvals when new commits are pushed",
			"does not dismiss stale approvals", "stale approvals dismissed", prFix(b, "Dismiss stale pull request approvals when new commits are pushed"))
	case RuleRequireCodeOwnerReview:
		return judgeBool(ev, rule, "require_code_owner_reviews", s.RequireCodeOwnerReview, "requires code owner review",
			"does not require code owner review", "code owner review required", prFix(b, "Require review from Code Owners"))
	case RuleRequireLastPushApproval:
		return judgeBool(ev, rule, "require_last_push_approval", s.RequireLastPushApproval, "requires approval of the most recent push",
			"does not require approval of the most recent push", "approval of the most recent push required", prFix(b, "Require approval of the most recent reviewable push"))
	case RuleRequireStatusChecks:
		return judge(ev, setting[StatusChecks]{rule: rule, field: "required_status_checks", obs: s.RequiredStatusChecks,
			meets:    func(v StatusChecks) bool { return len(v.Contexts) > 0 },
			describe: describeChecks,
			want:     "at least one required status check",
			fix: fmt.Sprintf(`Settings → Branches → add or edit the branch protection rule for %s → Require status checks to pass before merging, and select the checks; `+
				`or add a "Require status checks to pass" rule to a ruleset targeting %s`, b, b)})
	case RuleRequiredChecks:
		return ev.requiredChecks(p.RequiredChecks)
	case RuleBlockForcePushes:
		return judgeBool(ev, rule, "allow_force_pushes", s.ForcePushesBlocked, "blocks force pushes", "allows force pushes", "force pushes blocked",
			fmt.Sprintf(`Settings → Branches → add or edit the branch protection rule for %s → leave "Allow force pushes" unchecked; or add "Block force pushes" to a ruleset targeting %s`, b, b))
	case RuleBlockDeletions:
		return judgeBool(ev, rule, "allow_deletions", s.DeletionsBlocked, "blocks deletion", "allows deletion", "deletion blocked",
			fmt.Sprintf(`Settings → Branches → add or edit the branch protection rule for %s → leave "Allow deletions" unchecked; or add "Restrict deletions" to a ruleset targeting %s`, b, b))
	case RuleRequireSignedCommits:
		return judgeBool(ev, rule, "required_signatures", s.SignedCommits, "requires signed commits", "does not require signed commits", "signed commits required",
			branchFix(b, "Require signed commits"))
	case RuleRequireLinearHistory:
		return judgeBool(ev, rule, "required_linear_history", s.LinearHistory, "requires linear history", "does not require linear history", "linear history required",
			branchFix(b, "Require linear history"))
	}
	return outcome{check: evidence.Check{Rule: rule, Status: evidence.StatusError, Detail: "unknown rule"}}
}

func prFix(branch, option string) string {
	return fmt.Sprintf(`Settings → Branches → add or edit the branch protection rule for %s → Require a pull request before merging → %s; `+
		`or enable the same option in the pull request rule of a ruleset targeting %s`, branch, option, branch)
}

func branchFix(branch, option string) string {
	return fmt.Sprintf(`Settings → Branches → add or edit the branch protection rule for %s → %s; or add "%s" to a ruleset targeting %s`,
		branch, option, option, branch)
}

func judgeBool(ev evaluator, rule, field string, obs []Observation[bool], yes, no, want, fix string) outcome {
	return judge(ev, setting[bool]{rule: rule, field: field, obs: obs,
		meets: func(v bool) bool { return v },
		describe: func(v bool) string {
			if v {
				return yes
			}
			return no
		},
		want: want, fix: fix})
}

// judge applies one setting rule: pass when a source meets it, else
// not_verifiable when something could not be read, else fail.
func judge[T any](ev evaluator, s setting[T]) outcome {
	o := outcome{check: evidence.Check{Rule: s.rule}, uncertain: ev.sourcesUnknown()}
	var seen []string
	var by []meeting
	for _, ob := range s.obs {
		label := ev.label(ob.Source)
		if ob.Value == nil {
			o.uncertain = true
			seen = append(seen, label+" does not report "+s.field)
			continue
		}
		seen = append(seen, label+" "+s.describe(*ob.Value))
		if s.meets(*ob.Value) {
			by = append(by, meeting{source: ob.Source, bypassable: ob.Bypassable})
		}
	}
	if len(seen) == 0 {
		seen = append(seen, ev.absence())
	}
	detail := strings.Join(seen, "; ")
	switch {
	case len(by) > 0:
		o.check.Status = evidence.StatusPass
		o.met = []metItem{{what: s.rule, by: by}}
	case o.uncertain:
		o.check.Status = evidence.StatusNotVerifiable
		detail += " (policy: " + s.want + ")" + ev.unknownNotes()
		o.check.Fix = ev.permissionFix()
	default:
		o.check.Status = evidence.StatusFail
		detail += " (policy: " + s.want + ")"
		o.check.Fix = s.fix
	}
	o.check.Detail = detail
	return o
}

// requiredChecks judges that every named check is required by some source.
func (ev evaluator) requiredChecks(names []string) outcome {
	o := outcome{check: evidence.Check{Rule: RuleRequiredChecks}, uncertain: ev.sourcesUnknown()}
	var seen []string
	for _, ob := range ev.view.Settings.RequiredStatusChecks {
		if ob.Value == nil {
			o.uncertain = true
			seen = append(seen, ev.label(ob.Source)+" does not report required_status_checks")
			continue
		}
		seen = append(seen, ev.label(ob.Source)+" "+describeChecks(*ob.Value))
	}
	var missing []string
	for _, name := range sortedUnique(slices.Clone(names)) {
		var by []meeting
		for _, ob := range ev.view.Settings.RequiredStatusChecks {
			if ob.Value != nil && slices.Contains(ob.Value.Contexts, name) {
				by = append(by, meeting{source: ob.Source, bypassable: ob.Bypassable})
			}
		}
		if len(by) == 0 {
			missing = append(missing, name)
			continue
		}
		o.met = append(o.met, metItem{what: "required check " + name, by: by})
	}
	if len(seen) == 0 {
		seen = append(seen, ev.absence())
	}
	detail := strings.Join(seen, "; ")
	switch {
	case len(missing) == 0:
		o.check.Status = evidence.StatusPass
	case o.uncertain:
		o.check.Status = evidence.StatusNotVerifiable
		detail = "not known to be required: " + strings.Join(missing, ", ") + "; " + detail + ev.unknownNotes()
		o.check.Fix = ev.permissionFix()
	default:
		o.check.Status = evidence.StatusFail
		detail = "not required: " + strings.Join(missing, ", ") + "; " + detail
		o.check.Fix = fmt.Sprintf(`Settings → Branches → add or edit the branch protection rule for %s → Require status checks to pass before merging → add %s; `+
			`or add them to the status checks rule of a ruleset targeting %s`, ev.branch, strings.Join(missing, ", "), ev.branch)
	}
	o.check.Detail = detail
	return o
}

// bypassState is what no_admin_bypass concludes for one item met.
type bypassState int

const (
	enforced bypassState = iota
	bypassUnknown
	bypassed
)

func itemState(it metItem, uncertain bool) bypassState {
	unknown := uncertain
	for _, m := range it.by {
		if m.bypassable == nil {
			unknown = true
		} else if !*m.bypassable {
			return enforced
		}
	}
	if unknown {
		return bypassUnknown
	}
	return bypassed
}

// noAdminBypass judges that every rule met is met by at least one source no
// one may bypass. Rules not met are their own checks' business.
func (ev evaluator) noAdminBypass(outs []outcome) evidence.Check {
	c := evidence.Check{Rule: RuleNoAdminBypass}
	var items [3][]string
	used := map[bypassState]map[string]bool{enforced: {}, bypassUnknown: {}, bypassed: {}}
	anyUncertain := false
	for _, o := range outs {
		anyUncertain = anyUncertain || o.uncertain
		for _, it := range o.met {
			st := itemState(it, o.uncertain)
			items[st] = append(items[st], it.what)
			for _, m := range it.by {
				used[st][m.source] = true
			}
		}
	}
	switch {
	case len(items[bypassed]) > 0:
		c.Status = evidence.StatusFail
		c.Detail = strings.Join(items[bypassed], ", ") + " are enforced only by sources that can be bypassed: " + ev.bypassers(used[bypassed])
		c.Fix = fmt.Sprintf(`Settings → Branches → edit the branch protection rule for %s → check "Do not allow bypassing the above settings" and remove the pull request bypass allowances; `+
			`for a ruleset, empty its bypass list (Settings → Rules → Rulesets → the ruleset → Bypass list)`, ev.branch)
	case len(items[bypassUnknown]) > 0:
		c.Status = evidence.StatusNotVerifiable
		c.Detail = "whether " + strings.Join(items[bypassUnknown], ", ") + " can be bypassed is unknown: " + ev.bypassNotes(used[bypassUnknown]) + ev.unknownNotes()
		c.Fix = ev.permissionFix()
	case len(items[enforced]) == 0 && anyUncertain:
		c.Status = evidence.StatusNotVerifiable
		c.Detail = "nothing is known to be enforced on " + ev.branch + ev.unknownNotes()
		c.Fix = ev.permissionFix()
	case len(items[enforced]) == 0:
		c.Status = evidence.StatusFail
		c.Detail = "nothing the policy requires is enforced on " + ev.branch + ", so nothing binds administrators either"
		c.Fix = "first meet the other rules, with classic protection that has \"Do not allow bypassing the above settings\" checked or a ruleset with an empty bypass list"
	default:
		c.Status = evidence.StatusPass
		c.Detail = "every rule met is enforced without bypass by " + ev.enforcers(used[enforced])
	}
	return c
}

// bypassers describes who may bypass the given sources.
func (ev evaluator) bypassers(ids map[string]bool) string {
	var parts []string
	for _, src := range ev.view.Sources {
		if !ids[src.ID] {
			continue
		}
		who := slices.Clone(src.BypassActors)
		if len(src.PullRequestBypass) > 0 {
			who = append(who, "pull request bypass allowances: "+strings.Join(src.PullRequestBypass, ", "))
		}
		parts = append(parts, src.Label()+" may be bypassed by "+strings.Join(who, ", "))
	}
	return strings.Join(parts, "; ")
}

// bypassNotes says why bypass is unknown for the given sources.
func (ev evaluator) bypassNotes(ids map[string]bool) string {
	var parts []string
	for _, src := range ev.view.Sources {
		if ids[src.ID] && src.Bypassable == nil {
			parts = append(parts, src.Label()+": "+orText(src.Note, "who may bypass it is unknown"))
		}
	}
	if len(parts) == 0 {
		return "the sources met may be bypassed"
	}
	return strings.Join(parts, "; ")
}

// enforcers names the non-bypassable sources used.
func (ev evaluator) enforcers(ids map[string]bool) string {
	var parts []string
	for _, src := range ev.view.Sources {
		if !ids[src.ID] || src.Bypassable == nil || *src.Bypassable {
			continue
		}
		if src.Kind == kindClassic {
			parts = append(parts, "classic protection (enforce_admins enabled)")
		} else {
			parts = append(parts, src.Label()+" (no bypass actors)")
		}
	}
	return strings.Join(parts, " and ")
}

// sourcesUnknown reports whether classic protection or the rulesets could
// not be read, so an unseen source might meet a rule.
func (ev evaluator) sourcesUnknown() bool {
	return ev.view.Classic == ClassicUnknown || ev.view.Rules == ReadUnknown
}

// unknownNotes explains, after a detail, what could not be read.
func (ev evaluator) unknownNotes() string {
	var notes []string
	for _, n := range []string{ev.view.ClassicNote, ev.view.RulesNote} {
		if n != "" {
			notes = append(notes, n)
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return "; " + strings.Join(notes, "; ")
}

// permissionFix says how to make a not_verifiable check verifiable: the
// access the token lacks for what GitHub withheld, and collecting again
// for what failed.
func (ev evaluator) permissionFix() string {
	var need []string
	switch {
	case ev.view.Classic != ClassicUnknown, ev.failed.classic:
	case ev.branchMissing:
		need = append(need, "check that branch "+ev.branch+" exists (--branch)")
	default:
		need = append(need, classicPermission)
	}
	if (ev.view.Rules == ReadUnknown && !ev.failed.rules) ||
		slices.ContainsFunc(ev.view.Sources, func(s Source) bool { return s.Unreadable && !ev.failed.rulesets[s.ID] }) {
		need = append(need, rulesPermission)
	}
	if slices.ContainsFunc(ev.view.Sources, func(s Source) bool { return s.Kind == kindRuleset && !s.Unreadable && s.Bypassable == nil }) {
		need = append(need, bypassPermission)
	}
	again := "Collect again: GitHub did not answer every read (see the finding's summary)"
	switch {
	case len(need) == 0 && ev.failed.any:
		return again
	case len(need) == 0:
		return "make the missing settings readable to the token and collect again"
	case ev.failed.any:
		return again + "; and give the token this access: " + strings.Join(need, "; ")
	}
	return "Give the token this access and collect again: " + strings.Join(need, "; ")
}

// absence describes a branch on which nothing sets a rule.
func (ev evaluator) absence() string {
	var classic, rules string
	switch ev.view.Classic {
	case ClassicNotProtected:
		classic = ev.branch + " has no classic branch protection"
	case ClassicUnknown:
		classic = "the classic branch protection of " + ev.branch + " could not be read"
	default:
		classic = "classic protection of " + ev.branch + " does not set this"
	}
	switch {
	case ev.view.Rules == ReadUnknown:
		rules = "the rulesets applying to it could not be read"
	case slices.ContainsFunc(ev.view.Sources, func(s Source) bool { return s.Kind == kindRuleset }):
		rules = "no ruleset applying to it sets this"
	default:
		rules = "no ruleset applies to it"
	}
	return classic + " and " + rules
}

// label names a source by id.
func (ev evaluator) label(id string) string {
	for _, s := range ev.view.Sources {
		if s.ID == id {
			return s.Label()
		}
	}
	return id
}

func describeChecks(v StatusChecks) string {
	if len(v.Contexts) == 0 {
		return "requires no status checks"
	}
	s := "requires status checks " + strings.Join(v.Contexts, ", ")
	if v.Strict != nil && *v.Strict {
		s += " (branch must be up to date)"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
