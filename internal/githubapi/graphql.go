package githubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// GraphQLPath is the GraphQL endpoint beside a REST API root, relative to
// it: github.com's https://api.github.com/ answers GraphQL at /graphql,
// GitHub Enterprise Server's https://HOST/api/v3/ at /api/graphql.
func GraphQLPath(restBase *url.URL) string {
	if strings.HasSuffix(restBase.Path, "/api/v3/") {
		return "../graphql"
	}
	return "graphql"
}

// GraphQLError is an answer whose "errors" member is not empty. GitHub
// answers such a query with 200: the data may be partial, with null where
// an error struck.
type GraphQLError struct {
	Errors []GraphQLErrorItem
}

// GraphQLErrorItem is one of a GraphQL answer's errors.
type GraphQLErrorItem struct {
	// Type is GitHub's error type: NOT_FOUND, FORBIDDEN, RATE_LIMITED, ...
	// (empty for a query that fails validation).
	Type    string `json:"type"`
	Message string `json:"message"`
	// Path is where in the data the error struck: field names and list
	// indexes.
	Path []any `json:"path"`
}

func (e *GraphQLError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for i, it := range e.Errors {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Errors)-i))
			break
		}
		s := it.Message
		if it.Type != "" {
			s = it.Type + ": " + s
		}
		if len(it.Path) > 0 {
			p := make([]string, len(it.Path))
			for j, x := range it.Path {
				p[j] = fmt.Sprint(x)
			}
			s += " (at " + strings.Join(p, ".") + ")"
		}
		parts = append(parts, s)
	}
	return "GraphQL: " + strings.Join(parts, "; ")
}

// Types reports whether every error has one of types.
func (e *GraphQLError) Types(types ...string) bool {
	for _, it := range e.Errors {
		found := false
		for _, t := range types {
			found = found || it.Type == t
		}
		if !found {
			return false
		}
	}
	return len(e.Errors) > 0
}

// graphQLRequest is the JSON body of a GraphQL request.
type graphQLRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName,omitempty"`
}

// PostGraphQL sends one GraphQL query (operation op) with its variables and
// records the call as GetRaw does, its Request being "POST /graphql op".
// The body of a 200 answer is kept exactly as received even when it holds
// errors; then the error is a *GraphQLError, reachable with errors.As. A
// non-2xx answer is retried and reported like any REST call.
func (c *Client) PostGraphQL(ctx context.Context, op, query string, vars map[string]any) (Call, error) {
	call := Call{Request: "POST /graphql " + op}
	req, err := c.NewRequest(http.MethodPost, GraphQLPath(c.BaseURL), graphQLRequest{Query: query, Variables: vars, OperationName: op})
	if err != nil {
		call.Message = err.Error()
		return call, &callError{call: call, err: err}
	}
	var buf bytes.Buffer
	resp, err := c.Do(ctx, req, &buf)
	if err != nil {
		return failedCall(call, resp, err)
	}
	if resp != nil && resp.Response != nil {
		call.HTTPStatus = resp.StatusCode
	}
	if !json.Valid(buf.Bytes()) {
		call.InvalidBody = excerpt(buf.String())
		return call, &callError{call: call, err: ErrInvalidJSON}
	}
	call.Body = buf.Bytes()
	var answer struct {
		Errors []GraphQLErrorItem `json:"errors"`
	}
	if err := json.Unmarshal(call.Body, &answer); err != nil {
		return call, &callError{call: call, err: fmt.Errorf("not a GraphQL answer: %w", err)}
	}
	if len(answer.Errors) > 0 {
		return call, &callError{call: call, err: &GraphQLError{Errors: answer.Errors}}
	}
	return call, nil
}

// IsGraphQLError reports an answer that carried GraphQL errors, and them.
func IsGraphQLError(err error) (*GraphQLError, bool) {
	var ge *GraphQLError
	ok := errors.As(err, &ge)
	return ge, ok
}
