package deployments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/collectors/mergeactivity"
	"github.com/changeproof/changeproof/internal/cfapi"
	"github.com/changeproof/changeproof/internal/githubapi"
)

const (
	// perPage is the GitHub page size asked for: GitHub's maximum.
	perPage = 100
	// maxListingPages bounds a GitHub deployments listing.
	maxListingPages = 1000
	// maxSourcePages bounds one deployment's statuses.
	maxSourcePages = 100
	// workersPerPage is the Workers page size: the documented maximum.
	workersPerPage = 100
	// pagesPerPage is the Pages page size: Cloudflare's default, as the
	// maximum is not documented.
	pagesPerPage = 25
	// buildsBatch is how many version ids one builds lookup may carry.
	buildsBatch = 20
)

// Permissions named in not_verifiable reasons.
const (
	permWorkers   = `"Workers Scripts Read"`
	permWorkersCI = `"Workers CI Read"`
	permPages     = `"Pages Read"`
)

// cloudflareWithheld says what Cloudflare answered and which permission the
// token needs.
func cloudflareWithheld(err error, perm string) string {
	var e *cfapi.Error
	if errors.As(err, &e) {
		return cfapi.Reason(e.Call) + "; the token needs " + perm
	}
	return err.Error()
}

func esc(s string) string { return url.PathEscape(s) }

// ---- GitHub ----

// ghUser is a GitHub account in a payload.
type ghUser struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

// ghDeployment is what is read of a GitHub deployment.
type ghDeployment struct {
	raw                   json.RawMessage
	ID                    int64      `json:"id"`
	SHA                   string     `json:"sha"`
	Ref                   string     `json:"ref"`
	Task                  string     `json:"task"`
	Environment           string     `json:"environment"`
	Description           *string    `json:"description"`
	Creator               *ghUser    `json:"creator"`
	CreatedAt             *time.Time `json:"created_at"`
	ProductionEnvironment *bool      `json:"production_environment"`
}

// listError is a failed listing, withheld or not.
type listError struct {
	withheld bool
	reason   string
	err      error
}

func (e *listError) Error() string { return e.err.Error() }
func (e *listError) Unwrap() error { return e.err }

// listDeployments lists a repository's deployments (of one environment, or
// all), newest first, and stops at the first page holding one created
// before since: the rest are older.
func listDeployments(ctx context.Context, gh *githubapi.Client, owner, name, env string, since time.Time) (mergeactivity.Listing, []ghDeployment, error) {
	params := map[string]string{"per_page": strconv.Itoa(perPage)}
	if env != "" {
		params["environment"] = env
	}
	l := mergeactivity.Listing{Query: githubapi.Query{Endpoint: fmt.Sprintf("GET /repos/%s/%s/deployments", owner, name), Params: params}}
	base := collectors.PathQuery(fmt.Sprintf("repos/%s/%s/deployments", esc(owner), esc(name)), params)
	var out []ghDeployment
	for page := 1; ; {
		call, resp, err := gh.GetRaw(ctx, collectors.WithPage(base, page))
		if err != nil {
			le := &listError{err: fmt.Errorf("listing deployments of %s/%s (page %d): %w", owner, name, page, err)}
			if githubapi.Withheld(call, err) {
				le.withheld, le.reason = true, collectors.WithheldReason(call, githubapi.PermDeployments)
			}
			return l, nil, le
		}
		l.Pages++
		items, err := parseGitHubDeployments(call.Body)
		if err != nil {
			return l, nil, &listError{err: fmt.Errorf("parsing deployments of %s/%s (page %d): %w", owner, name, page, err)}
		}
		l.Items += len(items)
		out = append(out, items...)
		if i := slices.IndexFunc(items, func(d ghDeployment) bool { return d.CreatedAt.Before(since) }); i >= 0 {
			l.Stop = fmt.Sprintf("stopped after page %d: deployment %d was created at %s, before %s; the deployments after it are older",
				page, items[i].ID, items[i].CreatedAt.UTC().Format(time.RFC3339), since.UTC().Format(time.RFC3339))
			return l, out, nil
		}
		next := resp.NextPage
		if next == 0 {
			l.Stop = fmt.Sprintf("last page (%d)", page)
			return l, out, nil
		}
		if next <= page || l.Pages >= maxListingPages {
			return l, nil, &listError{err: fmt.Errorf("listing deployments of %s/%s: pagination does not end (next page %d after page %d)", owner, name, next, page)}
		}
		page = next
	}
}

func parseGitHubDeployments(body []byte) ([]ghDeployment, error) {
	if isNull(body) {
		return nil, errors.New("the answer is null, not an array")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, err
	}
	out := make([]ghDeployment, 0, len(raws))
	for i, r := range raws {
		var d ghDeployment
		if err := json.Unmarshal(r, &d); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		switch {
		case d.ID <= 0:
			return nil, fmt.Errorf("item %d: no deployment id", i)
		case d.CreatedAt == nil:
			return nil, fmt.Errorf("deployment %d: no created_at", d.ID)
		case d.SHA == "":
			return nil, fmt.Errorf("deployment %d: no sha", d.ID)
		}
		d.raw = r
		out = append(out, d)
	}
	return out, nil
}

// ---- Cloudflare ----

// stopBefore is a List Continue that stops at the first page holding an
// item created before since (listings are newest first).
func stopBefore(since time.Time, field, what string) func(int, []json.RawMessage) (bool, string) {
	return func(page int, items []json.RawMessage) (bool, string) {
		for _, it := range items {
			var v map[string]json.RawMessage
			if json.Unmarshal(it, &v) != nil {
				continue
			}
			var t time.Time
			if json.Unmarshal(v[field], &t) != nil || !t.Before(since) {
				continue
			}
			var id string
			_ = json.Unmarshal(v["id"], &id)
			return false, fmt.Sprintf("stopped after page %d: %s %s was created at %s, before %s; the %ss after it are older",
				page, what, id, t.UTC().Format(time.RFC3339), since.UTC().Format(time.RFC3339), what)
		}
		return true, ""
	}
}

// workerDeployment is what is read of a Workers deployment.
type workerDeployment struct {
	ID          string     `json:"id"`
	CreatedOn   *time.Time `json:"created_on"`
	Source      string     `json:"source"`
	Strategy    string     `json:"strategy"`
	AuthorEmail string     `json:"author_email"`
	Versions    []struct {
		VersionID  string  `json:"version_id"`
		Percentage float64 `json:"percentage"`
	} `json:"versions"`
	Annotations map[string]any `json:"annotations"`
}

// workerVersion is what is read of a Workers version.
type workerVersion struct {
	ID       string `json:"id"`
	Number   int    `json:"number"`
	Metadata struct {
		AuthorEmail string     `json:"author_email"`
		Source      string     `json:"source"`
		CreatedOn   *time.Time `json:"created_on"`
	} `json:"metadata"`
	Annotations map[string]any `json:"annotations"`
}

// build is what is read of a Workers Builds build.
type build struct {
	BuildUUID    string `json:"build_uuid"`
	BuildOutcome string `json:"build_outcome"`
	Trigger      struct {
		Branch              string `json:"branch"`
		CommitHash          string `json:"commit_hash"`
		ProviderType        string `json:"provider_type"`
		ProviderAccountName string `json:"provider_account_name"`
		RepoName            string `json:"repo_name"`
	} `json:"build_trigger_metadata"`
}

// pagesDeployment is what is read of a Pages deployment.
type pagesDeployment struct {
	ID                string     `json:"id"`
	Environment       string     `json:"environment"`
	CreatedOn         *time.Time `json:"created_on"`
	IsSkipped         bool       `json:"is_skipped"`
	DeploymentTrigger struct {
		Type     string `json:"type"`
		Metadata *struct {
			Branch        string `json:"branch"`
			CommitHash    string `json:"commit_hash"`
			CommitMessage string `json:"commit_message"`
			CommitDirty   bool   `json:"commit_dirty"`
		} `json:"metadata"`
	} `json:"deployment_trigger"`
	LatestStage *struct {
		Name    string     `json:"name"`
		Status  string     `json:"status"`
		EndedOn *time.Time `json:"ended_on"`
	} `json:"latest_stage"`
}

// pagesProject is what is read of a Pages project.
type pagesProject struct {
	Name             string `json:"name"`
	ProductionBranch string `json:"production_branch"`
	Source           *struct {
		Type   string `json:"type"`
		Config *struct {
			Owner    string `json:"owner"`
			RepoName string `json:"repo_name"`
		} `json:"config"`
	} `json:"source"`
}

// annotation returns a string annotation.
func annotation(a map[string]any, k string) string {
	s, _ := a[k].(string)
	return s
}

// parseAll decodes every item, naming the one that does not decode.
func parseAll[T any](items []json.RawMessage, check func(*T) error) ([]T, error) {
	out := make([]T, 0, len(items))
	for i, r := range items {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		if err := check(&v); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// isCommitHash reports a full or abbreviated (at least 7) hex commit id.
func isCommitHash(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// isNull reports a JSON null (where an array was expected: no empty
// population).
func isNull(b []byte) bool { return bytes.Equal(bytes.TrimSpace(b), []byte("null")) }

// isFullSHA reports a 40-character hex commit id.
func isFullSHA(s string) bool { return len(s) == 40 && isCommitHash(s) }
