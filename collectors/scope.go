package collectors

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Repo is a GitHub repository.
type Repo struct {
	Owner string `json:"owner"`
	Name  string `json:"name"`
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

var (
	ownerRE  = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	branchRE = regexp.MustCompile(`^[^\x00-\x20\x7f~^:?*\[\\]+$`)
)

// ParseRepo parses OWNER/NAME.
func ParseRepo(s string) (Repo, error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(name, "/") {
		return Repo{}, fmt.Errorf("repository %q: want OWNER/NAME", s)
	}
	if err := ValidateOwner(owner); err != nil {
		return Repo{}, fmt.Errorf("repository %q: %w", s, err)
	}
	if !repoRE.MatchString(name) || name == "." || name == ".." {
		return Repo{}, fmt.Errorf("repository %q: %q is not a valid repository name", s, name)
	}
	return Repo{Owner: owner, Name: name}, nil
}

// ValidateOwner checks a GitHub user or organisation name.
func ValidateOwner(s string) error {
	if !ownerRE.MatchString(s) || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
		return fmt.Errorf("%q is not a valid GitHub owner name", s)
	}
	return nil
}

// ValidateBranch checks a branch name against git's ref-name rules (roughly).
func ValidateBranch(s string) error {
	if strings.ContainsAny(s, "+@") {
		// They separate parts of the scope string that names a chain.
		return fmt.Errorf("%q: branch names with '+' or '@' are not supported", s)
	}
	if s == "" || !branchRE.MatchString(s) || strings.Contains(s, "..") || strings.HasPrefix(s, "/") ||
		strings.HasSuffix(s, "/") || strings.HasSuffix(s, ".lock") || strings.Contains(s, "@{") {
		return fmt.Errorf("%q is not a valid branch name", s)
	}
	return nil
}

// Scope says which repositories and branches a collection covers.
type Scope struct {
	// Orgs are whole organisations: every non-archived repository.
	Orgs []string `json:"orgs,omitempty"`
	// Repos are individual repositories.
	Repos []Repo `json:"repos,omitempty"`
	// Branches are the branches to look at; empty means each repository's
	// default branch.
	Branches []string `json:"branches,omitempty"`
}

// Validate checks the scope's syntax.
func (s Scope) Validate() error {
	if len(s.Orgs) == 0 && len(s.Repos) == 0 {
		return errors.New("no scope: give --org ORG or --repo OWNER/NAME")
	}
	for _, o := range s.Orgs {
		if err := ValidateOwner(o); err != nil {
			return fmt.Errorf("--org: %w", err)
		}
	}
	for _, r := range s.Repos {
		if _, err := ParseRepo(r.String()); err != nil {
			return fmt.Errorf("--repo: %w", err)
		}
	}
	for _, b := range s.Branches {
		if err := ValidateBranch(b); err != nil {
			return fmt.Errorf("--branch: %w", err)
		}
	}
	return nil
}

// String is the canonical scope recorded in evidence and used to chain it,
// e.g. "github.com/acme", "github.com/acme/api@main" or
// "github.com/acme/api+github.com/acme/web@main+release". Orgs and repos are
// sorted and de-duplicated, so the same scope always gives the same string.
func (s Scope) String() string {
	var parts []string
	for _, o := range s.Orgs {
		parts = append(parts, "github.com/"+strings.ToLower(o))
	}
	for _, r := range s.Repos {
		parts = append(parts, "github.com/"+strings.ToLower(r.String()))
	}
	slices.Sort(parts)
	parts = slices.Compact(parts)
	out := strings.Join(parts, "+")
	if len(s.Branches) > 0 {
		b := slices.Clone(s.Branches)
		slices.Sort(b)
		out += "@" + strings.Join(slices.Compact(b), "+")
	}
	return out
}
