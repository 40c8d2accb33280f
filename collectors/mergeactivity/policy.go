package mergeactivity

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Policy says what every change that reaches a branch must have had when it
// merged.
type Policy struct {
	// MinApprovals is the least number of independent approvals a pull
	// request needs (1 to 10): approvals by someone who neither opened the
	// pull request nor authored or committed any of its commits, each
	// reviewer's latest review state as of the merge.
	MinApprovals int `yaml:"min_approvals" json:"min_approvals"`
	// AllowStaleApprovals counts approvals given on an earlier head than the
	// one merged (commits were pushed after the approval).
	AllowStaleApprovals bool `yaml:"allow_stale_approvals" json:"allow_stale_approvals"`
	// RequireCI: at least one check run or commit status succeeded on the
	// merged head before the merge, and none had failed or was still running.
	RequireCI bool `yaml:"require_ci" json:"require_ci"`
	// RequiredChecks are check run names or status contexts that must each
	// have succeeded on the merged head before the merge.
	RequiredChecks []string `yaml:"required_checks" json:"required_checks"`
	// AllowedPushers are GitHub logins (e.g. "release-bot[bot]") whose
	// direct pushes to the branch pass.
	AllowedPushers []string `yaml:"allowed_pushers" json:"allowed_pushers"`
	// BotPRs is how pull requests opened by bots are judged: same_review
	// (like everyone else's) or checks_only (accepted with green checks).
	BotPRs string `yaml:"bot_prs" json:"bot_prs"`
	// EmergencyLabel marks emergency changes, which may be reviewed after
	// the merge; empty turns the emergency procedure off.
	EmergencyLabel string `yaml:"emergency_label" json:"emergency_label"`
	// EmergencyGrace is how long after the merge an emergency change may be
	// reviewed.
	EmergencyGrace Duration `yaml:"emergency_grace" json:"emergency_grace"`
}

// Bot policies.
const (
	BotSameReview = "same_review"
	BotChecksOnly = "checks_only"
)

// Policy limits.
const (
	// MaxApprovals is the largest min_approvals accepted (GitHub's maximum).
	MaxApprovals = 10
	// MaxEmergencyGrace bounds emergency_grace: a longer grace would keep
	// changes undecided, and re-examined, for too long.
	MaxEmergencyGrace = 30 * 24 * time.Hour
)

// DefaultPolicy is the policy used when the config has none: one independent
// approval on the merged head, green CI, no direct pushes, bots reviewed like
// everyone else, emergency changes reviewed within 24 hours.
func DefaultPolicy() Policy {
	return Policy{
		MinApprovals:   1,
		RequireCI:      true,
		RequiredChecks: []string{},
		AllowedPushers: []string{},
		BotPRs:         BotSameReview,
		EmergencyLabel: "emergency",
		EmergencyGrace: Duration(24 * time.Hour),
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
	if p.MinApprovals < 1 || p.MinApprovals > MaxApprovals {
		errs = append(errs, fmt.Errorf("min_approvals is %d: want 1 to %d", p.MinApprovals, MaxApprovals))
	}
	for i, c := range p.RequiredChecks {
		if strings.TrimSpace(c) == "" {
			errs = append(errs, fmt.Errorf("required_checks[%d] is empty: want a check run name or status context", i))
		}
	}
	for i, l := range p.AllowedPushers {
		if strings.TrimSpace(l) == "" || strings.ContainsAny(l, " \t\n") {
			errs = append(errs, fmt.Errorf("allowed_pushers[%d] is %q: want a GitHub login such as release-bot[bot]", i, l))
		}
	}
	switch p.BotPRs {
	case BotSameReview:
	case BotChecksOnly:
		if !p.RequireCI && len(p.RequiredChecks) == 0 {
			errs = append(errs, errors.New("bot_prs is checks_only but no check is required (require_ci is false and required_checks is empty): bot changes would pass unchecked"))
		}
	default:
		errs = append(errs, fmt.Errorf("bot_prs is %q: want %s or %s", p.BotPRs, BotSameReview, BotChecksOnly))
	}
	if p.EmergencyLabel != strings.TrimSpace(p.EmergencyLabel) {
		errs = append(errs, fmt.Errorf("emergency_label %q has leading or trailing spaces", p.EmergencyLabel))
	}
	if g := time.Duration(p.EmergencyGrace); p.EmergencyLabel != "" && (g <= 0 || g > MaxEmergencyGrace) {
		errs = append(errs, fmt.Errorf("emergency_grace is %s: want more than 0 and at most %s", p.EmergencyGrace, Duration(MaxEmergencyGrace)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}

// emergencyEnabled reports whether the emergency procedure applies.
func (p *Policy) emergencyEnabled() bool { return p.EmergencyLabel != "" }

// grace is the emergency grace period, 0 when the procedure is off.
func (p *Policy) grace() time.Duration {
	if !p.emergencyEnabled() {
		return 0
	}
	return time.Duration(p.EmergencyGrace)
}

// Duration is a time.Duration written as "24h", "90m" or "7d" in config files
// and evidence.
type Duration time.Duration

var daysRE = regexp.MustCompile(`^(\d{1,4})d$`)

// ParseDuration parses "24h", "90m", "1h30m" or "7d".
func ParseDuration(s string) (Duration, error) {
	if m := daysRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Duration(time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 24h, 90m or 7d", s)
	}
	return Duration(d), nil
}

// String writes whole days as "7d", whole hours as "24h", else as
// time.Duration does.
func (d Duration) String() string {
	td := time.Duration(d)
	switch {
	case td == 0:
		return "0s"
	case td%(24*time.Hour) == 0 && td >= 48*time.Hour:
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	case td%time.Hour == 0:
		return strconv.FormatInt(int64(td/time.Hour), 10) + "h"
	case td%time.Minute == 0:
		return strings.TrimSuffix(td.String(), "0s")
	}
	return td.String()
}

// MarshalText implements encoding.TextMarshaler (JSON and YAML).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (JSON and YAML).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
