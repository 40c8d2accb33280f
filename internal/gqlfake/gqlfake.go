// Package gqlfake is a fake of GitHub's GraphQL API that answers from a
// fake REST API: every GraphQL field is resolved from the REST payloads the
// fake serves (GET /repos/{o}/{r}, its pulls, reviews, commits, check runs
// and combined status), so the GraphQL and REST answers of a fake can never
// disagree.
//
// Queries are parsed and validated against GitHub's published schema
// (embedded, see schema/README.md) and executed by walking the validated
// AST: each GraphQL object type the fake implements is a table of field
// resolvers (types.go, github.go); a query selecting anything else is
// refused before any REST call with an error naming Type.field, never
// answered with a silent null. Answers follow GitHub's shapes:
//
//   - 200 {"data": ...}, members in selection order (aliases honoured);
//   - a query that fails validation, selects what the fake does not
//     implement, or breaks GitHub's connection rules (first or last on
//     every connection, at most 100, at most 500,000 nodes): 200
//     {"errors": [...]} and no data;
//   - errors inside data (a repository that does not exist, a REST 403 on
//     a sub-resource, a bad cursor): that field null and an error with
//     type (NOT_FOUND, FORBIDDEN, INVALID_CURSOR_ARGUMENTS), path,
//     locations and message, as GitHub sends them;
//   - any other REST failure (5xx, 422, invalid JSON): 502 with an HTML
//     body, so a client retries; never partial fake data;
//   - GET: 404 {"message": "Not Found"}; a body that is not JSON: 400
//     {"message": "Problems parsing JSON"}.
//
// A Handler does no authorisation, counting or rate limiting: the fake
// servers (ghfake, benchorg) do that for the one outer request and call
// their REST answers in-process.
package gqlfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// RESTFunc answers one REST request in-process: method, apiPath below the
// REST base path (e.g. "/repos/acme/web/pulls") and query, as the fake's
// REST API would answer it over HTTP (status and body). Listings are paged
// as GitHub pages them: page and per_page, per_page honoured up to 100, so
// a page shorter than per_page is the last. It must be safe for concurrent
// use.
type RESTFunc func(ctx context.Context, method, apiPath string, query url.Values) (status int, body []byte)

// Handler answers GitHub GraphQL requests from a RESTFunc. It is an
// http.Handler, safe for concurrent use; each request keeps its own memo of
// REST answers, so a resource is fetched at most once per query.
type Handler struct {
	rest RESTFunc
}

// New returns a Handler answering from rest.
func New(rest RESTFunc) *Handler { return &Handler{rest: rest} }

// GHESRESTBase is GitHub Enterprise Server's REST base path, whose GraphQL
// endpoint is not below it but beside it.
const GHESRESTBase = "/api/v3/"

// PathFor is the GraphQL endpoint's path for a REST API mounted at
// restBase, as GitHub lays them out: GitHub Enterprise Server's REST API at
// /api/v3/ has its GraphQL API at /api/graphql; any other base B (with
// github.com's "/", /graphql) has it at B + "graphql".
func PathFor(restBase string) string {
	b := "/" + strings.Trim(restBase, "/") + "/"
	if b == "//" {
		b = "/"
	}
	if b == GHESRESTBase {
		return "/api/graphql"
	}
	return b + "graphql"
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// docsURL is the documentation_url of GitHub's GraphQL error bodies.
const docsURL = "https://docs.github.com/graphql"

// badGateway is what a GitHub front end answers when the service behind it
// failed: a client retries it.
const badGateway = "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"

// requestBody is a GraphQL request.
type requestBody struct {
	Query         *string        `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// ServeHTTP answers one GraphQL request the way GitHub does.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	var body requestBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if len(raw) > maxBody || dec.Decode(&body) != nil || dec.More() {
		writeMessage(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if body.Query == nil || strings.TrimSpace(*body.Query) == "" {
		writeJSON(w, http.StatusOK, errorsOnly([]gqlError{{Message: "A query attribute must be specified and must be a string."}}))
		return
	}
	status, answer := h.execute(r.Context(), *body.Query, body.OperationName, body.Variables)
	switch status {
	case http.StatusBadGateway:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, badGateway)
	default:
		writeJSON(w, status, answer)
	}
}

// execute runs one query and returns the status and JSON body to answer.
func (h *Handler) execute(ctx context.Context, query, opName string, vars map[string]any) (int, []byte) {
	s, err := Schema()
	if err != nil {
		return http.StatusInternalServerError, messageBody(err.Error())
	}
	doc, errs := parseQuery(s, query)
	if len(errs) > 0 {
		return http.StatusOK, errorsOnly(validationErrors(errs))
	}
	op, gerr := selectOperation(doc, opName)
	if gerr != nil {
		return http.StatusOK, errorsOnly([]gqlError{*gerr})
	}
	coerced, verrs := coerceVariables(s, op, vars)
	if len(verrs) > 0 {
		return http.StatusOK, errorsOnly(verrs)
	}
	req := newRequest(ctx, h.rest, s, coerced)
	if perrs := req.precheck(op); len(perrs) > 0 {
		return http.StatusOK, errorsOnly(perrs)
	}
	data, err := req.run(op)
	var up *upstreamError
	switch {
	case errors.As(err, &up):
		return http.StatusBadGateway, nil
	case err != nil:
		return http.StatusInternalServerError, messageBody("gqlfake: " + err.Error())
	}
	return http.StatusOK, answerBody(data, req.errors)
}

// answerBody is {"data": data, "errors": [...]} (errors only if any).
func answerBody(data []byte, errs []gqlError) []byte {
	var b bytes.Buffer
	b.WriteString(`{"data":`)
	b.Write(data)
	if len(errs) > 0 {
		b.WriteString(`,"errors":`)
		e, _ := json.Marshal(errs) // strings, ints and locations: cannot fail
		b.Write(e)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// errorsOnly is {"errors": [...]}: GitHub's answer to a query it refuses
// before executing it.
func errorsOnly(errs []gqlError) []byte {
	b, _ := json.Marshal(struct {
		Errors []gqlError `json:"errors"`
	}{errs})
	return b
}

func messageBody(msg string) []byte {
	b, _ := json.Marshal(struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
	}{msg, docsURL})
	return b
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, messageBody(msg))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// gqlError is one entry of an answer's "errors", members in GitHub's order.
type gqlError struct {
	Type       string         `json:"type,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
	Locations  []location     `json:"locations,omitempty"`
	Message    string         `json:"message"`
}

type location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Error types GitHub sets on errors inside data and on refused queries.
const (
	TypeNotFound          = "NOT_FOUND"
	TypeForbidden         = "FORBIDDEN"
	TypeInvalidCursor     = "INVALID_CURSOR_ARGUMENTS"
	TypeMissingPagination = "MISSING_PAGINATION_BOUNDARIES"
	TypeExcessivePaging   = "EXCESSIVE_PAGINATION"
	TypeMaxNodeLimit      = "MAX_NODE_LIMIT_EXCEEDED"
	// TypeNotImplemented is the fake's own: the query selects a field or
	// passes an argument the fake cannot answer truthfully.
	TypeNotImplemented = "NOT_IMPLEMENTED_BY_FAKE"
	// TypeIntOutOfRange: an Int field whose value is past 32 bits (the field
	// is null).
	TypeIntOutOfRange = "INT_OUT_OF_RANGE"
)
