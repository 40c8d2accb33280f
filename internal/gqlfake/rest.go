package gqlfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
)

// restPerPage is the page size of the in-process REST listings.
const restPerPage = 100

// maxRESTPages bounds a listing: a RESTFunc that ignores page would
// otherwise be read forever.
const maxRESTPages = 1000

// msgForbidden is GitHub's message when a token may not read something.
const msgForbidden = "Resource not accessible by integration"

type memoEntry struct {
	v   any
	err error
}

// memo returns the value of key, loaded once per GraphQL request (its
// error too: a field that failed fails the same way wherever it is
// selected again).
func memo[T any](r *request, key string, load func() (T, error)) (T, error) {
	if e, ok := r.memo[key]; ok {
		v, _ := e.v.(T)
		return v, e.err
	}
	v, err := load()
	r.memo[key] = memoEntry{v: v, err: err}
	return v, err
}

// describe is "GET /path?query" for messages.
func describe(apiPath string, q url.Values) string {
	if len(q) == 0 {
		return "GET " + apiPath
	}
	return "GET " + apiPath + "?" + q.Encode()
}

// restError turns a REST answer other than 200 into GraphQL: 403 is
// GitHub's FORBIDDEN, 404 NOT_FOUND with notFound as message, anything
// else fails the whole answer (502).
func restError(what string, status int, notFound string) error {
	switch status {
	case http.StatusForbidden:
		return &fieldError{typ: TypeForbidden, msg: msgForbidden}
	case http.StatusNotFound:
		if notFound == "" {
			notFound = fmt.Sprintf("Could not resolve to a node: %s answered 404 Not Found.", what)
		}
		return &fieldError{typ: TypeNotFound, msg: notFound}
	}
	return &upstreamError{what: what, status: status}
}

// getJSON reads one REST object into a T, once per request.
func getJSON[T any](r *request, apiPath string, q url.Values, notFound string) (T, error) {
	what := describe(apiPath, q)
	return memo(r, what, func() (T, error) {
		var v T
		status, body := r.rest(r.ctx, http.MethodGet, apiPath, q)
		if status != http.StatusOK {
			return v, restError(what, status, notFound)
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return v, &upstreamError{what: what, status: status, err: err}
		}
		if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
			// GitHub never answers an object's GET with null.
			return v, &upstreamError{what: what, status: status, err: errors.New("the body is null")}
		}
		return v, nil
	})
}

// listing is every item of a REST listing, and for a listing inside an
// object ({"total_count": N, key: [...]}) the first page's object.
type listing[T any] struct {
	items []T
	first map[string]json.RawMessage
}

// listAll reads every page of a REST listing (per_page=100, page=1, 2, ...)
// until a page is short (GitHub serves per_page items up to 100 but on the
// last page) or, inside an object, total_count items are read. key is ""
// for a JSON array, else the array's member in an object.
func listAll[T any](r *request, apiPath string, q url.Values, key, notFound string) (listing[T], error) {
	what := describe(apiPath, q)
	return memo(r, "all pages of "+what, func() (listing[T], error) {
		var l listing[T]
		for page := 1; ; page++ {
			if page > maxRESTPages {
				return l, &upstreamError{what: what, err: fmt.Errorf("the listing did not end after %d pages", maxRESTPages)}
			}
			pq := maps.Clone(q)
			if pq == nil {
				pq = url.Values{}
			}
			pq.Set("per_page", strconv.Itoa(restPerPage))
			pq.Set("page", strconv.Itoa(page))
			pageWhat := describe(apiPath, pq)
			status, body := r.rest(r.ctx, http.MethodGet, apiPath, pq)
			if status != http.StatusOK {
				return l, restError(pageWhat, status, notFound)
			}
			items, obj, total, err := decodePage[T](body, key)
			if err != nil {
				return l, &upstreamError{what: pageWhat, status: status, err: err}
			}
			if page == 1 {
				l.first = obj
			}
			l.items = append(l.items, items...)
			if len(items) < restPerPage || (total >= 0 && len(l.items) >= total) {
				return l, nil
			}
		}
	})
}

// decodePage decodes one page: its items, its object and total_count (-1
// for an array).
func decodePage[T any](body []byte, key string) ([]T, map[string]json.RawMessage, int, error) {
	var items []T
	if key == "" {
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, nil, -1, err
		}
		return items, nil, -1, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, nil, -1, err
	}
	raw, ok := obj[key]
	if !ok {
		return nil, nil, -1, fmt.Errorf("no %q in the object", key)
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, nil, -1, fmt.Errorf("%s: %w", key, err)
	}
	total := -1
	if t, ok := obj["total_count"]; ok {
		if err := json.Unmarshal(t, &total); err != nil {
			return nil, nil, -1, fmt.Errorf("total_count: %w", err)
		}
	}
	return items, obj, total, nil
}

// The REST payloads, as GitHub documents them: only the members the fake
// reads.

type restUser struct {
	Login   string `json:"login"`
	ID      int64  `json:"id"`
	Type    string `json:"type"`
	HTMLURL string `json:"html_url"`
}

type restRepo struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	FullName string   `json:"full_name"`
	Private  bool     `json:"private"`
	Archived bool     `json:"archived"`
	HTMLURL  string   `json:"html_url"`
	Owner    restUser `json:"owner"`
}

type restLabel struct {
	Name        string  `json:"name"`
	Color       string  `json:"color"`
	Description *string `json:"description"`
}

type restRef struct {
	Ref string `json:"ref"`
	SHA string `json:"sha"`
}

type restPull struct {
	ID             int64       `json:"id"`
	Number         int         `json:"number"`
	State          string      `json:"state"`
	Title          string      `json:"title"`
	Body           *string     `json:"body"`
	Draft          bool        `json:"draft"`
	HTMLURL        string      `json:"html_url"`
	User           *restUser   `json:"user"`
	Labels         []restLabel `json:"labels"`
	CreatedAt      string      `json:"created_at"`
	UpdatedAt      string      `json:"updated_at"`
	ClosedAt       *string     `json:"closed_at"`
	MergedAt       *string     `json:"merged_at"`
	MergeCommitSHA *string     `json:"merge_commit_sha"`
	Base           restRef     `json:"base"`
	Head           restRef     `json:"head"`
	// MergedBy and Commits are only in GET pulls/{number}.
	MergedBy *restUser `json:"merged_by"`
	Commits  *int      `json:"commits"`
}

type restReview struct {
	ID          int64     `json:"id"`
	User        *restUser `json:"user"`
	Body        string    `json:"body"`
	State       string    `json:"state"`
	HTMLURL     string    `json:"html_url"`
	SubmittedAt *string   `json:"submitted_at"`
	CommitID    string    `json:"commit_id"`
}

type restGitActor struct {
	Name  string  `json:"name"`
	Email string  `json:"email"`
	Date  *string `json:"date"`
}

type restCommit struct {
	SHA     string `json:"sha"`
	HTMLURL string `json:"html_url"`
	Commit  struct {
		Author    *restGitActor `json:"author"`
		Committer *restGitActor `json:"committer"`
		Message   string        `json:"message"`
	} `json:"commit"`
	// Author and Committer are the GitHub accounts of the git author and
	// committer, null when none matches.
	Author    *restUser `json:"author"`
	Committer *restUser `json:"committer"`
}

type restApp struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type restCheckRun struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Status      string  `json:"status"`
	Conclusion  *string `json:"conclusion"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
	DetailsURL  *string `json:"details_url"`
	HTMLURL     string  `json:"html_url"`
	CheckSuite  *struct {
		ID int64 `json:"id"`
	} `json:"check_suite"`
	App *restApp `json:"app"`
}

type restStatusContext struct {
	Context     string  `json:"context"`
	State       string  `json:"state"`
	Description *string `json:"description"`
	TargetURL   *string `json:"target_url"`
	CreatedAt   string  `json:"created_at"`
}
