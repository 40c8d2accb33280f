package collectors

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/changeproof/changeproof/internal/githubapi"
)

// Read states of a Source.
const (
	// SourceRead: GitHub answered and every page was read.
	SourceRead = "read"
	// SourceUnknown: GitHub would not say (403, 404).
	SourceUnknown = "unknown"
	// SourceError: the read failed otherwise (after retries), or its
	// pagination did not end.
	SourceError = "error"
)

// Source is one GitHub endpoint, every page it returned, as raw facts.
type Source struct {
	// Status is read, unknown (GitHub would not say: 403 or 404) or error.
	Status string           `json:"status"`
	Pages  []githubapi.Call `json:"pages"`
}

// ReadSource reads every page of path (relative to the API root, carrying a
// query) into a Source, following GitHub's next page up to maxPages pages.
// A 403 or 404 leaves the source unknown, without error; any other failure,
// or pagination that does not end, is an error with the source so far.
func ReadSource(ctx context.Context, gh *githubapi.Client, path string, maxPages int) (*Source, error) {
	src := &Source{Pages: []githubapi.Call{}}
	for page := 1; ; {
		call, resp, err := gh.GetRaw(ctx, WithPage(path, page))
		src.Pages = append(src.Pages, call)
		if err != nil {
			if githubapi.Withheld(call, err) {
				src.Status = SourceUnknown
				return src, nil
			}
			src.Status = SourceError
			return src, err
		}
		next := resp.NextPage
		if next == 0 {
			break
		}
		if next <= page || len(src.Pages) >= maxPages {
			src.Status = SourceError
			return src, fmt.Errorf("GET /%s: pagination does not end (next page %d after page %d)", path, next, page)
		}
		page = next
	}
	src.Status = SourceRead
	return src, nil
}

// WithPage adds page=n (n > 1) to a path that carries a query.
func WithPage(path string, page int) string {
	if page <= 1 {
		return path
	}
	return path + "&page=" + strconv.Itoa(page)
}

// PathQuery builds a request path with its query sorted, for stable request
// strings.
func PathQuery(path string, params map[string]string) string {
	v := url.Values{}
	for k, val := range params {
		v.Set(k, val)
	}
	return path + "?" + v.Encode()
}

// WithheldReason says what GitHub answered a withheld call (403, 404) and
// which permission the token needs, for a not_verifiable reason.
func WithheldReason(call githubapi.Call, perm string) string {
	msg := strconv.Itoa(call.HTTPStatus)
	if call.Message != "" {
		msg += " " + call.Message
	}
	return fmt.Sprintf("%s: GitHub answered %s; the token needs %s", call.Request, msg, perm)
}

// ListError is a failed population listing, with the call that failed.
type ListError struct {
	Call githubapi.Call
	Err  error
}

func (e *ListError) Error() string { return e.Err.Error() }
func (e *ListError) Unwrap() error { return e.Err }

// Withheld reports a listing GitHub would not show (403, 404).
func (e *ListError) Withheld() bool { return githubapi.Withheld(e.Call, e.Err) }
