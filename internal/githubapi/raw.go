package githubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// Call records one GET as raw evidence: what was asked, what GitHub answered
// and, for a success, the body exactly as received.
type Call struct {
	// Request is the method and path (with query) relative to the API root.
	Request string `json:"request"`
	// HTTPStatus is the final status after retries; 0 when there was no
	// response.
	HTTPStatus int `json:"http_status"`
	// Message is GitHub's error message, or the transport error.
	Message string `json:"message,omitempty"`
	// Body is a successful response's body as received.
	Body json.RawMessage `json:"body,omitempty"`
	// InvalidBody holds a successful response's body that is not JSON
	// (truncated), which makes the call an error.
	InvalidBody string `json:"invalid_body,omitempty"`
}

// ErrInvalidJSON is returned (wrapped) for a 2xx response that is not JSON.
var ErrInvalidJSON = errors.New("response is not valid JSON")

// bodyExcerpt bounds how much of an invalid body a Call keeps.
const bodyExcerpt = 2048

// GetRaw sends GET path (relative to the API root, with its query) and
// records the call. The body of a 2xx response is kept exactly as received;
// a body that is not JSON is an error. Errors keep go-github's error types
// reachable with errors.As, and their message names the request, the status
// and GitHub's message but not the API host, so facts stay comparable.
func (c *Client) GetRaw(ctx context.Context, path string) (Call, *github.Response, error) {
	call := Call{Request: "GET /" + path}
	req, err := c.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		call.Message = err.Error()
		return call, nil, &callError{call: call, err: err}
	}
	var buf bytes.Buffer
	resp, err := c.Do(ctx, req, &buf)
	if err != nil {
		call, err := failedCall(call, resp, err)
		return call, resp, err
	}
	if resp != nil && resp.Response != nil {
		call.HTTPStatus = resp.StatusCode
	}
	if !json.Valid(buf.Bytes()) {
		call.InvalidBody = excerpt(buf.String())
		return call, resp, &callError{call: call, err: ErrInvalidJSON}
	}
	call.Body = buf.Bytes()
	return call, resp, nil
}

// failedCall records a call whose Do failed: the status, GitHub's message
// or the transport error, and whether the rate limit kept it unsent.
func failedCall(call Call, resp *github.Response, err error) (Call, error) {
	if resp != nil && resp.Response != nil {
		call.HTTPStatus = resp.StatusCode
	}
	if s := HTTPStatus(err); s != 0 {
		call.HTTPStatus = s
	}
	call.Message = Message(err)
	if call.Message == "" && call.HTTPStatus == 0 {
		call.Message = err.Error()
	}
	var exhausted *RateLimitExhaustedError
	if errors.As(err, &exhausted) {
		call.HTTPStatus = 0
		call.Message = exhausted.Error()
	} else if reset, ok := notSent(err); ok {
		call.HTTPStatus = 0
		call.Message = "not sent: the rate limit is exhausted until " + reset.UTC().Format(time.RFC3339)
	}
	return call, &callError{call: call, err: err}
}

type callError struct {
	call Call
	err  error
}

func (e *callError) Error() string {
	switch {
	case e.call.InvalidBody != "":
		return fmt.Sprintf("%s: HTTP %d: %v", e.call.Request, e.call.HTTPStatus, e.err)
	case e.call.HTTPStatus/100 == 2:
		// A successful answer that is still wrong (GraphQL's errors).
		return fmt.Sprintf("%s: %v", e.call.Request, e.err)
	case e.call.HTTPStatus != 0 && e.call.Message != "":
		return fmt.Sprintf("%s: HTTP %d %s: %s", e.call.Request, e.call.HTTPStatus, http.StatusText(e.call.HTTPStatus), e.call.Message)
	case e.call.HTTPStatus != 0:
		return fmt.Sprintf("%s: HTTP %d %s", e.call.Request, e.call.HTTPStatus, http.StatusText(e.call.HTTPStatus))
	case e.call.Message != "":
		return fmt.Sprintf("%s: %s", e.call.Request, e.call.Message)
	}
	return fmt.Sprintf("%s: %v", e.call.Request, e.err)
}

func (e *callError) Unwrap() error { return e.err }

// notSent reports a request go-github refused to send because an earlier
// response exhausted the rate limit, and when the limit resets.
func notSent(err error) (time.Time, bool) {
	var rl *github.RateLimitError
	if errors.As(err, &rl) && strings.HasSuffix(rl.Message, "not making remote request.") {
		return rl.Rate.Reset.Time, true
	}
	return time.Time{}, false
}

func excerpt(s string) string {
	if len(s) <= bodyExcerpt {
		return s
	}
	return strings.ToValidUTF8(s[:bodyExcerpt], "") + "…"
}

// Withheld reports a failed call by which GitHub declined to say — 403 or
// 404, which mean "no permission" as often as "absent" — so the fact is
// unknown (not_verifiable) rather than an error. A rate limit is never that,
// whatever its 403.
func Withheld(call Call, err error) bool {
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &ab) {
		return false
	}
	return call.HTTPStatus == http.StatusNotFound || call.HTTPStatus == http.StatusForbidden
}
