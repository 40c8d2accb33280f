package gqlfake

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// GitHub's limits on connections (docs: "Rate limits and node limits for
// the GraphQL API"): first or last on every connection, at most 100 each,
// at most 500,000 nodes in a query.
const (
	MaxPage  = 100
	MaxNodes = 500_000
)

// precheck refuses, before any REST call, what GitHub refuses before
// executing (connections without first or last, or with more than 100,
// queries of more than 500,000 nodes) and what the fake cannot answer
// truthfully (fields and arguments it does not implement, argument values
// it cannot honour). Every problem is reported, with its path (response
// keys, no list indexes) and location.
func (r *request) precheck(op *ast.OperationDefinition) []gqlError {
	c := &checker{r: r, seen: map[string]bool{}}
	root := r.rootType(op)
	if root == nil {
		return []gqlError{{Message: fmt.Sprintf("The schema has no %s type", op.Operation), Locations: at(op.Position)}}
	}
	c.walk(op.SelectionSet, root, nil, 1)
	return c.errs
}

type checker struct {
	r     *request
	errs  []gqlError
	seen  map[string]bool // errors reported, by message and location
	nodes int             // nodes the query may request so far
}

func (c *checker) add(typ string, path []any, pos *ast.Position, msg string) {
	key := msg
	if pos != nil {
		key += "@" + strconv.Itoa(pos.Line) + ":" + strconv.Itoa(pos.Column)
	}
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.errs = append(c.errs, gqlError{Type: typ, Path: slices.Clone(path), Locations: at(pos), Message: msg})
}

// walk checks a selection set on an object of type (or abstract type)
// parent; mult is how many such objects the query may request.
func (c *checker) walk(set ast.SelectionSet, parent *ast.Definition, path []any, mult int) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if c.r.included(s.Directives) {
				c.field(s, append(path[:len(path):len(path)], s.Alias), mult)
			}
		case *ast.InlineFragment:
			if c.r.included(s.Directives) && !c.neverResolved(parent, s.TypeCondition) {
				c.walk(s.SelectionSet, parent, path, mult)
			}
		case *ast.FragmentSpread:
			// Validation leaves no fragment cycles.
			if c.r.included(s.Directives) && s.Definition != nil && !c.neverResolved(parent, s.Definition.TypeCondition) {
				c.walk(s.Definition.SelectionSet, parent, path, mult)
			}
		}
	}
}

// neverResolved reports a fragment on an object type, inside a field of
// another (abstract) type, that the fake never resolves a value to (as
// Mannequin for an Actor): its fields are never executed, so not refused.
func (c *checker) neverResolved(parent *ast.Definition, cond string) bool {
	if cond == "" || cond == parent.Name {
		return false
	}
	def := c.r.schema.Types[cond]
	return def != nil && def.Kind == ast.Object && types[cond] == nil
}

func (c *checker) field(f *ast.Field, path []any, mult int) {
	if f.Name == "__typename" || f.Definition == nil {
		return
	}
	a, err := argumentMap(f, c.r.vars)
	if err != nil {
		c.add("", path, f.Position, err.Error())
		return
	}
	impls := c.implementations(f.ObjectDefinition)
	if len(impls) == 0 {
		c.add(TypeNotImplemented, path, f.Position, fmt.Sprintf("gqlfake does not implement %s.%s", f.ObjectDefinition.Name, f.Name))
	}
	for _, t := range impls {
		fi := t.fields[f.Name]
		if fi == nil {
			c.add(TypeNotImplemented, path, f.Position, fmt.Sprintf("gqlfake does not implement %s.%s", t.name, f.Name))
			continue
		}
		for _, arg := range f.Arguments {
			if !fi.args[arg.Name] && a[arg.Name] != nil {
				c.add(TypeNotImplemented, path, arg.Position, fmt.Sprintf("gqlfake does not implement the argument %s of %s.%s", arg.Name, t.name, f.Name))
			}
		}
		if fi.check != nil {
			if err := fi.check(a); err != nil {
				msg := err.Error()
				if fe, ok := err.(*fieldError); ok {
					msg = fe.msg
				}
				c.add(TypeNotImplemented, path, f.Position, msg)
			}
		}
	}
	if isConnection(f.Definition) {
		mult *= c.pagination(f, a, path)
		before := c.nodes
		c.nodes += mult
		if before <= MaxNodes && c.nodes > MaxNodes {
			c.add(TypeMaxNodeLimit, path, f.Position, fmt.Sprintf("By the time this query traverses to the %s connection, it is requesting up to %s possible nodes which exceeds the maximum limit of %s.", f.Name, thousands(c.nodes), thousands(MaxNodes)))
		}
	}
	if len(f.SelectionSet) > 0 {
		c.walk(f.SelectionSet, c.r.schema.Types[f.Definition.Type.Name()], path, mult)
	}
}

// implementations are the implemented object types a field of def may be
// resolved on: def itself, or the implemented possible types of an
// interface or union.
func (c *checker) implementations(def *ast.Definition) []*objType {
	if def == nil {
		return nil
	}
	if !def.IsAbstractType() {
		if t := types[def.Name]; t != nil {
			return []*objType{t}
		}
		return nil
	}
	var out []*objType
	for _, d := range c.r.schema.GetPossibleTypes(def) {
		if t := types[d.Name]; t != nil {
			out = append(out, t)
		}
	}
	return out
}

// isConnection reports a Relay connection field: GitHub requires first or
// last on it.
func isConnection(def *ast.FieldDefinition) bool {
	return strings.HasSuffix(def.Type.Name(), "Connection") &&
		def.Arguments.ForName("first") != nil && def.Arguments.ForName("last") != nil
}

// pagination applies GitHub's rules to a connection's first and last and
// returns how many nodes it may return.
func (c *checker) pagination(f *ast.Field, a args, path []any) int {
	first, hasFirst := intArg(a, "first")
	last, hasLast := intArg(a, "last")
	switch {
	case !hasFirst && !hasLast:
		c.add(TypeMissingPagination, path, f.Position, fmt.Sprintf("You must provide a `first` or `last` value to properly paginate the `%s` connection.", f.Name))
		return 1
	case hasFirst && hasLast:
		c.add("", path, f.Position, fmt.Sprintf("Passing both `first` and `last` to paginate the `%s` connection is not supported.", f.Name))
	}
	n := 0
	for _, p := range []struct {
		name string
		v    int
		ok   bool
	}{{"first", first, hasFirst}, {"last", last, hasLast}} {
		switch {
		case !p.ok:
			continue
		case p.v < 0:
			c.add("", path, f.Position, fmt.Sprintf("`%s` on the `%s` connection cannot be less than zero.", p.name, f.Name))
		case p.v > MaxPage:
			c.add(TypeExcessivePaging, path, f.Position, fmt.Sprintf("Requesting %d records on the `%s` connection exceeds the `%s` limit of %d records.", p.v, f.Name, p.name, MaxPage))
		}
		n = max(n, min(max(p.v, 0), MaxPage))
	}
	return n
}

// thousands formats n with commas, as GitHub's messages do.
func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
