package cfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	cloudflare "github.com/cloudflare/cloudflare-go"
)

// Call records one GET as raw evidence: what was asked, what Cloudflare
// answered and, for a success, the "result" exactly as received.
type Call struct {
	// Request is the method and path (with its query, keys sorted) relative
	// to the API root, e.g. "GET /accounts/ID/workers/scripts/api/versions?page=1&per_page=100".
	Request string `json:"request"`
	// HTTPStatus is the final status after retries; 0 when there was no
	// response.
	HTTPStatus int `json:"http_status"`
	// Errors are Cloudflare's errors of a failed call (code and message).
	Errors []Message `json:"errors,omitempty"`
	// Messages are Cloudflare's informational messages.
	Messages []Message `json:"messages,omitempty"`
	// Message is a transport error, or a failed call's body when it is not
	// Cloudflare's envelope (truncated).
	Message string `json:"message,omitempty"`
	// Result is a successful call's "result", byte for byte.
	Result json.RawMessage `json:"result,omitempty"`
	// ResultInfo is a successful call's "result_info" (pagination), when
	// the response has one.
	ResultInfo *ResultInfo `json:"result_info,omitempty"`
	// InvalidBody holds a 2xx body that is not JSON (truncated), which makes
	// the call an error.
	InvalidBody string `json:"invalid_body,omitempty"`
}

// Message is one entry of Cloudflare's "errors" or "messages".
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// UnmarshalJSON accepts an object {code, message} or, as some services send,
// a bare string.
func (m *Message) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*m = Message{Message: s}
		return nil
	}
	type plain Message
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*m = Message(p)
	return nil
}

func (m Message) String() string {
	if m.Code == 0 {
		return m.Message
	}
	return fmt.Sprintf("%d %s", m.Code, m.Message)
}

// ResultInfo is the pagination of a listing.
type ResultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

var (
	// ErrInvalidJSON is returned (wrapped) for a 2xx response that is not
	// JSON.
	ErrInvalidJSON = errors.New("response is not valid JSON")
	// ErrNotSuccess is returned (wrapped) for a 2xx response whose envelope
	// says "success": false.
	ErrNotSuccess = errors.New(`Cloudflare answered "success": false`)
)

// maxBody bounds how much of a response is kept in memory (a larger body is
// truncated, and then fails to parse).
const maxBody = 64 << 20

// bodyExcerpt bounds how much of an invalid body a Call keeps.
const bodyExcerpt = 2048

// Path builds an API path from segments, each escaped:
// Path("accounts", id, "workers", "scripts", name) is
// "/accounts/ID/workers/scripts/NAME".
func Path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// requestLine is "GET PATH?QUERY" with the query's keys sorted.
func requestLine(path string, query url.Values) string {
	if q := query.Encode(); q != "" {
		return "GET " + path + "?" + q
	}
	return "GET " + path
}

// Get sends GET path (relative to the API root; build it with Path) with the
// query, and records the call. A success keeps the "result" exactly as
// received. Errors (*Error) name the request, the HTTP status and
// Cloudflare's error codes and messages, never the token.
func (c *Client) Get(ctx context.Context, path string, query url.Values) (Call, error) {
	return c.get(ctx, path, query, nil)
}

// get is Get with extra request headers.
func (c *Client) get(ctx context.Context, path string, query url.Values, headers http.Header) (Call, error) {
	call := Call{Request: requestLine(path, query)}
	if !c.HasToken() {
		call.Message = ErrNoToken.Error()
		return call, &Error{Call: call, Err: ErrNoToken}
	}
	endpoint := path
	if q := query.Encode(); q != "" {
		endpoint += "?" + q
	}
	rec := &recorder{}
	raw, err := c.api.Raw(context.WithValue(ctx, recorderKey{}, rec), http.MethodGet, endpoint, nil, headers)
	status, body := rec.get()
	call.HTTPStatus = status
	if err != nil {
		switch {
		case status == 0:
			call.Message = err.Error()
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%v)", ctx.Err(), err)
				call.Message = ctx.Err().Error()
			}
		case status < 400:
			call.InvalidBody = excerpt(string(body))
			err = ErrInvalidJSON
		default:
			env, ok := parseEnvelope(body)
			if ok {
				call.Errors, call.Messages = env.Errors, env.Messages
			}
			if len(call.Errors) == 0 {
				call.Message = strings.TrimSpace(excerpt(string(body)))
			}
		}
		return call, &Error{Call: call, Err: err}
	}
	call.Messages = messages(raw.Messages)
	if !raw.Success {
		call.Errors = messages(raw.Errors)
		return call, &Error{Call: call, Err: ErrNotSuccess}
	}
	call.Result = raw.Result
	if ri := raw.ResultInfo; ri != nil {
		call.ResultInfo = &ResultInfo{Page: ri.Page, PerPage: ri.PerPage, Count: ri.Count, TotalCount: ri.Total, TotalPages: ri.TotalPages}
	}
	return call, nil
}

// envelope is what is read of a failed response's body.
type envelope struct {
	Success  *bool     `json:"success"`
	Errors   []Message `json:"errors"`
	Messages []Message `json:"messages"`
}

func parseEnvelope(body []byte) (envelope, bool) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return envelope{}, false
	}
	return env, env.Success != nil || len(env.Errors) > 0
}

func messages(in []cloudflare.ResponseInfo) []Message {
	if len(in) == 0 {
		return nil
	}
	out := make([]Message, 0, len(in))
	for _, m := range in {
		out = append(out, Message{Code: m.Code, Message: m.Message})
	}
	return out
}

func excerpt(s string) string {
	if len(s) <= bodyExcerpt {
		return s
	}
	return strings.ToValidUTF8(s[:bodyExcerpt], "") + "…"
}

// Error is a failed call. Its message names the request, the HTTP status and
// Cloudflare's error codes and messages; Unwrap reaches the cause (a context
// error, ErrInvalidJSON, ErrNotSuccess, ErrNoToken or cloudflare-go's error).
type Error struct {
	Call Call
	Err  error
}

func (e *Error) Error() string {
	c := e.Call
	var b strings.Builder
	b.WriteString(c.Request)
	b.WriteString(": ")
	if c.HTTPStatus != 0 {
		fmt.Fprintf(&b, "HTTP %d", c.HTTPStatus)
		if t := http.StatusText(c.HTTPStatus); t != "" {
			b.WriteString(" " + t)
		}
		b.WriteString(": ")
	}
	switch {
	case len(c.Errors) > 0:
		parts := make([]string, 0, len(c.Errors))
		for _, m := range c.Errors {
			if m.Code != 0 {
				parts = append(parts, fmt.Sprintf("Cloudflare error %d: %s", m.Code, m.Message))
			} else {
				parts = append(parts, "Cloudflare error: "+m.Message)
			}
		}
		b.WriteString(strings.Join(parts, "; "))
		if errors.Is(e.Err, ErrNotSuccess) {
			b.WriteString(` ("success": false)`)
		}
	case errors.Is(e.Err, ErrInvalidJSON), errors.Is(e.Err, ErrNotSuccess), errors.Is(e.Err, ErrNoToken):
		b.WriteString(e.Err.Error())
	case c.Message != "":
		b.WriteString(c.Message)
	default:
		b.WriteString(fmt.Sprint(e.Err))
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus returns the HTTP status of a failed call, or 0.
func HTTPStatus(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Call.HTTPStatus
	}
	return 0
}

// codeInvalidToken is Cloudflare's "Invalid access token": the token itself is
// wrong, which no permission fixes.
const codeInvalidToken = 9109

// Withheld reports a failed call by which Cloudflare declined to say — 403
// (the token lacks the permission, typically "10000 Authentication error")
// or 404 (absent, or not visible to the token) — so the fact is unknown
// (not_verifiable) rather than an error. An invalid token (9109) is an
// error, not withheld.
func Withheld(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	if e.Call.HTTPStatus != http.StatusForbidden && e.Call.HTTPStatus != http.StatusNotFound {
		return false
	}
	for _, m := range e.Call.Errors {
		if m.Code == codeInvalidToken {
			return false
		}
	}
	return true
}

// Reason describes a withheld or failed call for a not_verifiable finding:
// "GET PATH: Cloudflare answered 403 (10000 Authentication error)".
func Reason(call Call) string {
	s := call.Request + ": Cloudflare answered " + strconv.Itoa(call.HTTPStatus)
	if len(call.Errors) > 0 {
		parts := make([]string, 0, len(call.Errors))
		for _, m := range call.Errors {
			parts = append(parts, m.String())
		}
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s
}

// recorder holds the final response of one call, captured by the
// recordingTransport from the request's context.
type recorder struct {
	status int
	body   []byte
}

func (r *recorder) get() (int, []byte) { return r.status, r.body }

type recorderKey struct{}

// recordingTransport sits above the retries and captures the final
// response's status and body for the call that asked (through the request
// context), then hands cloudflare-go an identical body.
type recordingTransport struct {
	next http.RoundTripper
}

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		// A transport failure (a refused redirect, a timeout): no answer
		// to record, whatever response came with it.
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, err
	}
	rec, _ := r.Context().Value(recorderKey{}).(*recorder)
	if rec == nil || resp == nil || resp.Body == nil {
		return resp, nil
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	rec.status, rec.body = resp.StatusCode, body
	if resp.StatusCode >= 400 && bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		// cloudflare-go (v0.119.0, cloudflare.go:305-310) decodes a failed
		// answer into a *Response through its address: a body of null sets
		// the pointer to nil and its next line panics. It is handed an
		// empty object instead; the call keeps the body as received.
		body = []byte("{}")
		resp.ContentLength = int64(len(body))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		rec.status, rec.body = 0, nil
		return nil, fmt.Errorf("reading the response: %w", rerr)
	}
	return resp, nil
}
