package cistatus

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Policy says what CI every commit that lands on a branch must have had.
type Policy struct {
	// RequiredChecks are check run names or commit status contexts that
	// must each have succeeded on every commit (the latest attempt per
	// name counts).
	RequiredChecks []string `yaml:"required_checks" json:"required_checks"`
	// RequiredWorkflows are GitHub Actions workflow names that must each
	// have a successful run on every commit.
	RequiredWorkflows []string `yaml:"required_workflows" json:"required_workflows"`
	// AllChecksGreen: at least one check run or status ran on every commit
	// and every one (but ignore_checks) succeeded in its latest attempt.
	AllChecksGreen bool `yaml:"all_checks_green" json:"all_checks_green"`
	// IgnoreChecks are check run names or status contexts all_checks_green
	// leaves out (informational or flaky checks).
	IgnoreChecks []string `yaml:"ignore_checks" json:"ignore_checks"`
	// MinGreenShare is the least share (0 to 1) of a branch's commits in the
	// window that must be green; null makes the share informational.
	MinGreenShare *float64 `yaml:"min_green_share" json:"min_green_share"`
	// FailedConclusions are the workflow run conclusions that make a run a
	// failed run.
	FailedConclusions []string `yaml:"failed_conclusions" json:"failed_conclusions"`
}

// failedConclusionsAllowed are the conclusions failed_conclusions may name:
// every conclusion GitHub gives a completed run except the passing ones.
var failedConclusionsAllowed = []string{"failure", "timed_out", "startup_failure", "cancelled", "action_required", "stale"}

// DefaultPolicy is the policy used when the config has none: every commit
// had CI, all of it green; failed runs are those that failed, timed out or
// could not start.
func DefaultPolicy() Policy {
	return Policy{
		RequiredChecks:    []string{},
		RequiredWorkflows: []string{},
		AllChecksGreen:    true,
		IgnoreChecks:      []string{},
		FailedConclusions: []string{"failure", "timed_out", "startup_failure"},
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
	names := func(key string, list []string) {
		seen := map[string]bool{}
		for i, n := range list {
			switch {
			case strings.TrimSpace(n) == "":
				errs = append(errs, fmt.Errorf("%s[%d] is empty: want a name", key, i))
			case n != strings.TrimSpace(n):
				errs = append(errs, fmt.Errorf("%s[%d] %q has leading or trailing spaces", key, i, n))
			case seen[n]:
				errs = append(errs, fmt.Errorf("%s[%d] %q is listed twice", key, i, n))
			}
			seen[n] = true
		}
	}
	names("required_checks", p.RequiredChecks)
	names("required_workflows", p.RequiredWorkflows)
	names("ignore_checks", p.IgnoreChecks)
	for _, n := range p.IgnoreChecks {
		if slices.Contains(p.RequiredChecks, n) {
			errs = append(errs, fmt.Errorf("%q is in both required_checks and ignore_checks", n))
		}
	}
	if !p.AllChecksGreen && len(p.RequiredChecks) == 0 && len(p.RequiredWorkflows) == 0 {
		errs = append(errs, errors.New("all_checks_green is false and required_checks and required_workflows are empty: no commit would be checked"))
	}
	if s := p.MinGreenShare; s != nil && (math.IsNaN(*s) || *s < 0 || *s > 1) {
		errs = append(errs, fmt.Errorf("min_green_share is %v: want 0 to 1 (e.g. 0.95), or null", *s))
	}
	if len(p.FailedConclusions) == 0 {
		errs = append(errs, fmt.Errorf("failed_conclusions is empty: want some of %s", strings.Join(failedConclusionsAllowed, ", ")))
	}
	for i, c := range p.FailedConclusions {
		if !slices.Contains(failedConclusionsAllowed, c) {
			errs = append(errs, fmt.Errorf("failed_conclusions[%d] is %q: want one of %s", i, c, strings.Join(failedConclusionsAllowed, ", ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}

// requiresWorkflows reports whether commits need their workflow runs.
func (p *Policy) requiresWorkflows() bool { return len(p.RequiredWorkflows) > 0 }

// failedRun reports whether a run conclusion makes a failed run.
func (p *Policy) failedRun(conclusion string) bool {
	return slices.Contains(p.FailedConclusions, conclusion)
}

// ignored reports whether all_checks_green leaves a check out.
func (p *Policy) ignored(name string) bool { return slices.Contains(p.IgnoreChecks, name) }
