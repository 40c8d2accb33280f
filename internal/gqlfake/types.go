package gqlfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A resolver returns one of:
//
//   - nil, string, bool, int, int64 or float64: a leaf (enum values are
//     strings) or null;
//   - []any: a list;
//   - node: an object of a concrete GraphQL type;
//   - *conn: a connection (its type is the field's).
//
// and, for an error, a *fieldError (that field null, the error in the
// answer), an *upstreamError (the whole answer 502) or any other error (a
// bug of the fake: 500).
type node struct {
	typ string // the concrete GraphQL object type, e.g. "PullRequest"
	src any
}

// args are a field's arguments, as ast.Field.ArgumentMap gives them.
type args map[string]any

// resolveFunc resolves one field of an object.
type resolveFunc func(r *request, src any, a args) (any, error)

// fieldImpl is how the fake answers one field.
type fieldImpl struct {
	// args are the arguments the fake honours; a query passing any other
	// (with a value other than null) is refused before execution.
	args map[string]bool
	// check refuses argument values the fake cannot honour, before
	// execution; nil accepts all.
	check   func(a args) error
	resolve resolveFunc
}

// objType is a GraphQL object type the fake implements: its fields.
type objType struct {
	name   string
	fields map[string]*fieldImpl
}

// types are the implemented object types, by name. They are defined by
// init functions and read-only afterwards.
var types = map[string]*objType{}

// typeOf defines the fields of an object type whose nodes carry a T.
type typeOf[T any] struct{ t *objType }

func define[T any](name string) typeOf[T] {
	if types[name] != nil {
		panic("gqlfake: type defined twice: " + name)
	}
	t := &objType{name: name, fields: map[string]*fieldImpl{}}
	types[name] = t
	return typeOf[T]{t}
}

func (d typeOf[T]) add(name string, check func(args) error, f func(r *request, v T, a args) (any, error), argNames []string) typeOf[T] {
	if d.t.fields[name] != nil {
		panic("gqlfake: field defined twice: " + d.t.name + "." + name)
	}
	allowed := map[string]bool{}
	for _, a := range argNames {
		allowed[a] = true
	}
	d.t.fields[name] = &fieldImpl{args: allowed, check: check, resolve: func(r *request, src any, a args) (any, error) {
		v, ok := src.(T)
		if !ok {
			return nil, fmt.Errorf("%s.%s resolved on a %T", d.t.name, name, src)
		}
		return f(r, v, a)
	}}
	return d
}

// field defines a field resolved with the request (REST calls) and
// arguments.
func (d typeOf[T]) field(name string, f func(r *request, v T, a args) (any, error), argNames ...string) typeOf[T] {
	return d.add(name, nil, f, argNames)
}

// value defines a field computed from the node alone.
func (d typeOf[T]) value(name string, f func(v T) any) typeOf[T] {
	return d.add(name, nil, func(_ *request, v T, _ args) (any, error) { return f(v), nil }, nil)
}

// pagingArgs are the arguments of every connection.
var pagingArgs = []string{"first", "last", "after", "before"}

// conn defines a connection field: f lists every node, the page is cut
// from first, last, after and before. argNames are its other arguments,
// check refuses values of them the fake cannot honour.
func (d typeOf[T]) conn(name string, check func(args) error, f func(r *request, v T, a args) ([]any, error), argNames ...string) typeOf[T] {
	return d.connTotal(name, check, func(r *request, v T, a args) ([]any, int, error) {
		items, err := f(r, v, a)
		return items, len(items), err
	}, argNames...)
}

// connTotal is conn for a connection whose totalCount GitHub knows beyond
// the nodes it serves (a pull request's commits: at most 250 listed).
func (d typeOf[T]) connTotal(name string, check func(args) error, f func(r *request, v T, a args) ([]any, int, error), argNames ...string) typeOf[T] {
	return d.add(name, check, func(r *request, v T, a args) (any, error) {
		items, total, err := f(r, v, a)
		if err != nil {
			return nil, err
		}
		c, err := page(items, a)
		if c != nil {
			c.total = max(total, len(items))
		}
		return c, err
	}, append(argNames, pagingArgs...))
}

// conn is a page of a connection.
type conn struct {
	items      []any // every node, in order
	start, end int   // the page: items[start:end]
	total      int   // totalCount: len(items), or more when GitHub says so
}

type edgeOf struct {
	c *conn
	i int
}

// Connections the fake serves; each gets totalCount, pageInfo, nodes and
// edges {cursor node}.
var connections = []string{
	"PullRequestConnection", "LabelConnection", "PullRequestReviewConnection",
	"PullRequestCommitConnection", "CheckSuiteConnection", "CheckRunConnection",
}

func init() {
	define[*conn]("PageInfo").
		value("hasNextPage", func(c *conn) any { return c.end < len(c.items) }).
		value("hasPreviousPage", func(c *conn) any { return c.start > 0 }).
		value("startCursor", func(c *conn) any { return c.cursor(c.start) }).
		value("endCursor", func(c *conn) any { return c.cursor(c.end - 1) })
	for _, name := range connections {
		edge := strings.TrimSuffix(name, "Connection") + "Edge"
		define[*conn](name).
			value("totalCount", func(c *conn) any { return max(c.total, len(c.items)) }).
			value("pageInfo", func(c *conn) any { return node{"PageInfo", c} }).
			value("nodes", func(c *conn) any { return c.items[c.start:c.end] }).
			value("edges", func(c *conn) any {
				out := make([]any, 0, c.end-c.start)
				for i := c.start; i < c.end; i++ {
					out = append(out, node{edge, edgeOf{c, i}})
				}
				return out
			})
		define[edgeOf](edge).
			value("cursor", func(e edgeOf) any { return e.c.cursor(e.i) }).
			value("node", func(e edgeOf) any { return e.c.items[e.i] })
	}
}

// cursorPrefix starts every cursor, before base64: GitHub's cursors look
// alike ("cursor:v2:" and a serialised position).
const cursorPrefix = "cursor:v2:"

// cursor is the opaque cursor of item i, nil outside the page.
func (c *conn) cursor(i int) any {
	if i < c.start || i >= c.end {
		return nil
	}
	return encodeCursor(i)
}

func encodeCursor(i int) string {
	return base64.StdEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(i)))
}

// decodeCursor reads a cursor back; a bad one is GitHub's
// INVALID_CURSOR_ARGUMENTS.
func decodeCursor(s string) (int, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(raw), cursorPrefix); ok {
			if i, err := strconv.Atoi(rest); err == nil && i >= 0 {
				return i, nil
			}
		}
	}
	return 0, &fieldError{typ: TypeInvalidCursor, msg: fmt.Sprintf("`%s` does not appear to be a valid cursor.", s)}
}

// page cuts the page the paging arguments ask for, as the Relay
// specification does: after and before bound the list, then first keeps
// the first n of it, last the last n. (first and last together, and
// missing or excessive values, are refused before execution.)
func page(items []any, a args) (*conn, error) {
	start, end := 0, len(items)
	if s, ok := a["after"].(string); ok {
		i, err := decodeCursor(s)
		if err != nil {
			return nil, err
		}
		start = min(i+1, end)
	}
	if s, ok := a["before"].(string); ok {
		i, err := decodeCursor(s)
		if err != nil {
			return nil, err
		}
		end = max(min(i, end), start)
	}
	if n, ok := intArg(a, "first"); ok {
		end = min(end, start+max(n, 0))
	}
	if n, ok := intArg(a, "last"); ok {
		start = max(start, end-max(n, 0))
	}
	return &conn{items: items, start: start, end: end}, nil
}

// intArg reads an Int argument: literals are int64, variables whatever
// their JSON decoding and coercion made of them.
func intArg(a args, name string) (int, bool) {
	switch v := a[name].(type) {
	case int:
		return v, true
	case int32:
		return int(v), true
	case int64:
		return int(max(min(v, math.MaxInt32), math.MinInt32)), true
	case float64:
		return int(max(min(v, math.MaxInt32), math.MinInt32)), true
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return int(max(min(n, math.MaxInt32), math.MinInt32)), true
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n, true
		}
	}
	return 0, false
}

// strArg reads a String or enum argument.
func strArg(a args, name string) (string, bool) {
	s, ok := a[name].(string)
	return s, ok
}

// listArg reads a list argument of strings (enums).
func listArg(a args, name string) ([]string, bool) {
	var out []string
	switch v := a[name].(type) {
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = v
	case string: // a single value coerced to a list
		out = []string{v}
	default:
		return nil, false
	}
	return out, true
}

// objArg reads an input object argument.
func objArg(a args, name string) (map[string]any, bool) {
	m, ok := a[name].(map[string]any)
	return m, ok
}

// onlyKeys refuses an input object with members other than allowed (and
// not null): the fake would ignore them and answer something else than
// GitHub.
func onlyKeys(input string, m map[string]any, allowed ...string) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] == nil || slices.Contains(allowed, k) {
			continue
		}
		return notImplemented(fmt.Sprintf("gqlfake does not implement %s.%s", input, k))
	}
	return nil
}

// fieldError makes a field null and puts an error with a GitHub type into
// the answer.
type fieldError struct {
	typ, msg string
}

func (e *fieldError) Error() string { return e.typ + ": " + e.msg }

func notImplemented(msg string) error { return &fieldError{typ: TypeNotImplemented, msg: msg} }

// upstreamError is a REST answer the fake cannot turn into GraphQL: the
// whole answer is a 502.
type upstreamError struct {
	what   string // e.g. "GET /repos/acme/web/pulls?..."
	status int
	err    error
}

func (e *upstreamError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("REST %s: %v", e.what, e.err)
	}
	return fmt.Sprintf("REST %s answered %d", e.what, e.status)
}

func (e *upstreamError) Unwrap() error { return e.err }
