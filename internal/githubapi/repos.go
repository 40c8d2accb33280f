package githubapi

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-github/v62/github"
)

// listPageSize is the page size asked for in listings: GitHub's maximum.
const listPageSize = 100

// RepoInfo is what collectors need to know about a repository.
type RepoInfo struct {
	Owner         string `json:"owner"`
	Name          string `json:"name"`
	DefaultBranch string `json:"default_branch"`
	Archived      bool   `json:"archived"`
	Private       bool   `json:"private"`
}

// FullName is OWNER/NAME.
func (r RepoInfo) FullName() string { return r.Owner + "/" + r.Name }

// Query records a listing query, so evidence can show that the population
// it judged is complete: which endpoint was read, with which parameters, how
// many pages were followed and how many items they held.
type Query struct {
	Endpoint string            `json:"endpoint"`
	Params   map[string]string `json:"params,omitempty"`
	Pages    int               `json:"pages"`
	Items    int               `json:"items"`
}

// ListOrgRepos lists every repository of an organisation, archived ones
// included (the caller decides what to skip), sorted by name. It follows
// every page of GET /orgs/{org}/repos?type=all&per_page=100. The Query is
// filled in as far as the listing got, also when it fails.
func (c *Client) ListOrgRepos(ctx context.Context, org string) ([]RepoInfo, Query, error) {
	opts := &github.RepositoryListByOrgOptions{Type: "all", ListOptions: github.ListOptions{PerPage: listPageSize}}
	q := Query{
		Endpoint: "GET /orgs/" + org + "/repos",
		Params:   map[string]string{"type": opts.Type, "per_page": strconv.Itoa(listPageSize)},
	}
	var out []RepoInfo
	for {
		repos, resp, err := c.Repositories.ListByOrg(ctx, org, opts)
		if err != nil {
			return nil, q, fmt.Errorf("listing repositories of org %s (page %d): %w", org, q.Pages+1, err)
		}
		q.Pages++
		q.Items += len(repos)
		for _, r := range repos {
			info, err := repoInfo(r, org)
			if err != nil {
				return nil, q, fmt.Errorf("listing repositories of org %s (page %d): %w", org, q.Pages, err)
			}
			out = append(out, info)
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		if resp.NextPage <= opts.Page {
			return nil, q, fmt.Errorf("listing repositories of org %s: next page %d does not advance past page %d", org, resp.NextPage, opts.Page)
		}
		opts.Page = resp.NextPage
	}
	sortRepos(out)
	return out, q, nil
}

// GetRepo reads one repository.
func (c *Client) GetRepo(ctx context.Context, owner, name string) (RepoInfo, error) {
	r, _, err := c.Repositories.Get(ctx, owner, name)
	if err != nil {
		return RepoInfo{}, fmt.Errorf("getting repository %s/%s: %w", owner, name, err)
	}
	info, err := repoInfo(r, owner)
	if err != nil {
		return RepoInfo{}, fmt.Errorf("getting repository %s/%s: %w", owner, name, err)
	}
	return info, nil
}

// repoInfo converts go-github's repository; owner is used when the payload
// names none. A repository without a name is malformed data, not a panic.
func repoInfo(r *github.Repository, owner string) (RepoInfo, error) {
	if r == nil || r.GetName() == "" {
		return RepoInfo{}, fmt.Errorf("malformed repository object: no name")
	}
	if login := r.GetOwner().GetLogin(); login != "" {
		owner = login
	}
	return RepoInfo{
		Owner:         owner,
		Name:          r.GetName(),
		DefaultBranch: r.GetDefaultBranch(),
		Archived:      r.GetArchived(),
		Private:       r.GetPrivate(),
	}, nil
}

// sortRepos sorts by name, case-insensitively, then by owner and exact name
// so the order is total.
func sortRepos(rs []RepoInfo) {
	slices.SortFunc(rs, func(a, b RepoInfo) int {
		return cmp.Or(
			cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Owner, b.Owner),
		)
	})
}
