package collectors

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/githubapi"
)

// MaxNamed bounds how many items a Result.Incomplete names (see Named).
const MaxNamed = 10

// ScopedRepo is one repository of a scope's population.
type ScopedRepo struct {
	Repo githubapi.RepoInfo
	// Lookup: the repository was named (--repo), so Repo holds only its
	// owner and name, and no branch was given: read it first, for its
	// default branch.
	Lookup bool
}

// RepoPopulation is the repositories a scope covers and how they were found.
type RepoPopulation struct {
	// Repos are every non-archived repository of each organisation (in the
	// order GitHub's listings give), then the repositories named, each once
	// however it is spelt.
	Repos []ScopedRepo
	// SkippedArchived names the archived repositories the listings returned,
	// sorted case-insensitively.
	SkippedArchived []string
	// Queries are the organisation listings, the failed one included.
	Queries []githubapi.Query
}

// ListRepos lists the repositories in scope: every non-archived repository
// of each organisation (organisations compared case-insensitively), then the
// repositories named, each once. A failed listing returns the population so
// far, with its query, and the listing's error.
func ListRepos(ctx context.Context, gh *githubapi.Client, scope Scope) (RepoPopulation, error) {
	var pop RepoPopulation
	seen := map[string]bool{}
	for _, org := range UniqueFold(scope.Orgs) {
		repos, q, err := gh.ListOrgRepos(ctx, org)
		pop.Queries = append(pop.Queries, q)
		if err != nil {
			return pop, err
		}
		for _, r := range repos {
			key := strings.ToLower(r.FullName())
			switch {
			case seen[key]:
			case r.Archived:
				pop.SkippedArchived = append(pop.SkippedArchived, r.FullName())
			default:
				seen[key] = true
				pop.Repos = append(pop.Repos, ScopedRepo{Repo: r})
			}
		}
	}
	for _, r := range scope.Repos {
		key := strings.ToLower(r.String())
		if seen[key] {
			continue
		}
		seen[key] = true
		pop.Repos = append(pop.Repos, ScopedRepo{Repo: githubapi.RepoInfo{Owner: r.Owner, Name: r.Name}, Lookup: len(scope.Branches) == 0})
	}
	slices.SortFunc(pop.SkippedArchived, CompareFold)
	return pop, nil
}

// CompareFold orders strings case-insensitively, then bytewise, so the order
// is total.
func CompareFold(a, b string) int {
	return cmp.Or(cmp.Compare(strings.ToLower(a), strings.ToLower(b)), cmp.Compare(a, b))
}

// UniqueFold sorts names case-insensitively and drops case-insensitive
// duplicates, keeping the first spelling.
func UniqueFold(names []string) []string {
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return slices.CompactFunc(out, strings.EqualFold)
}

// SortedUnique is a sorted copy of s without duplicates.
func SortedUnique[T cmp.Ordered](s []T) []T {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// Named lists names for a Result.Incomplete, at most MaxNamed of them:
// "a, b and 3 more".
func Named(names []string) string {
	shown := names[:min(len(names), MaxNamed)]
	s := strings.Join(shown, ", ")
	if more := len(names) - len(shown); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// Targets are the findings' targets, sorted, each once; empty, not nil, when
// there is none.
func Targets(findings []evidence.Finding) []string {
	out := []string{}
	for _, f := range findings {
		out = append(out, f.Target)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
