package gqlfake

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"
)

// request is the state of one GraphQL query: its variables, the errors
// found inside data, and the memo of REST answers. One goroutine runs it.
type request struct {
	ctx    context.Context
	rest   RESTFunc
	schema *ast.Schema
	vars   map[string]any
	errors []gqlError
	memo   map[string]memoEntry
	path   []any // the response path of the field being resolved
}

func newRequest(ctx context.Context, rest RESTFunc, s *ast.Schema, vars map[string]any) *request {
	return &request{ctx: ctx, rest: rest, schema: s, vars: vars, memo: map[string]memoEntry{}}
}

// run executes the operation and returns the JSON of its data: an object,
// or null when a non-null root field was null.
func (r *request) run(op *ast.OperationDefinition) ([]byte, error) {
	root := r.rootType(op)
	if root == nil {
		return nil, fmt.Errorf("the schema has no root type for %s", op.Operation)
	}
	buf := make([]byte, 0, 4096)
	ok, err := r.object(&buf, node{typ: root.Name, src: struct{}{}}, root, []ast.SelectionSet{op.SelectionSet})
	if err != nil {
		return nil, err
	}
	if !ok {
		buf = append(buf[:0], "null"...)
	}
	return buf, nil
}

func (r *request) rootType(op *ast.OperationDefinition) *ast.Definition {
	switch op.Operation {
	case ast.Mutation:
		return r.schema.Mutation
	case ast.Subscription:
		return r.schema.Subscription
	}
	return r.schema.Query
}

// group is the fields of one response key.
type group struct {
	key    string
	fields []*ast.Field
}

// collect gathers the fields a selection set selects on an object of type
// obj, by response key in order of first appearance, following fragments
// whose type condition applies and honouring @skip and @include.
func (r *request) collect(obj *ast.Definition, sets []ast.SelectionSet) []group {
	var groups []group
	index := map[string]int{}
	visited := map[string]bool{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if !r.included(s.Directives) {
					continue
				}
				if i, ok := index[s.Alias]; ok {
					groups[i].fields = append(groups[i].fields, s)
					continue
				}
				index[s.Alias] = len(groups)
				groups = append(groups, group{key: s.Alias, fields: []*ast.Field{s}})
			case *ast.InlineFragment:
				if r.included(s.Directives) && r.applies(obj, s.TypeCondition) {
					walk(s.SelectionSet)
				}
			case *ast.FragmentSpread:
				if visited[s.Name] || !r.included(s.Directives) || s.Definition == nil {
					continue
				}
				visited[s.Name] = true
				if r.applies(obj, s.Definition.TypeCondition) {
					walk(s.Definition.SelectionSet)
				}
			}
		}
	}
	for _, set := range sets {
		walk(set)
	}
	return groups
}

// applies reports whether a fragment on type cond applies to an object of
// type obj: the same type, an interface it implements or a union it is a
// member of.
func (r *request) applies(obj *ast.Definition, cond string) bool {
	if cond == "" || cond == obj.Name {
		return true
	}
	def := r.schema.Types[cond]
	if def == nil || !def.IsAbstractType() {
		return false
	}
	return slices.ContainsFunc(r.schema.GetPossibleTypes(def), func(d *ast.Definition) bool { return d.Name == obj.Name })
}

// included evaluates @skip(if:) and @include(if:).
func (r *request) included(ds ast.DirectiveList) bool {
	for _, d := range ds {
		v, _ := d.ArgumentMap(r.vars)["if"].(bool)
		switch d.Name {
		case "skip":
			if v {
				return false
			}
		case "include":
			if !v {
				return false
			}
		}
	}
	return true
}

// object writes the fields the selection sets select on n, an object of
// type def. ok is false when a non-null field was null: the object itself
// is null then (the caller writes null or propagates), and nothing of it
// is left in buf.
func (r *request) object(buf *[]byte, n node, def *ast.Definition, sets []ast.SelectionSet) (ok bool, err error) {
	start := len(*buf)
	*buf = append(*buf, '{')
	for i, g := range r.collect(def, sets) {
		if i > 0 {
			*buf = append(*buf, ',')
		}
		*buf = appendString(*buf, g.key)
		*buf = append(*buf, ':')
		r.path = append(r.path, g.key)
		ok, err := r.field(buf, n, def, g)
		r.path = r.path[:len(r.path)-1]
		if err != nil {
			return false, err
		}
		if !ok {
			*buf = (*buf)[:start]
			return false, nil
		}
	}
	*buf = append(*buf, '}')
	return true, nil
}

// field resolves and writes one response key of n.
func (r *request) field(buf *[]byte, n node, def *ast.Definition, g group) (bool, error) {
	f := g.fields[0]
	if f.Name == "__typename" {
		*buf = appendString(*buf, n.typ)
		return true, nil
	}
	if f.Definition == nil {
		return false, fmt.Errorf("field %s.%s has no definition: the query was not validated", def.Name, f.Name)
	}
	impl := types[n.typ].lookup(f.Name)
	if impl == nil {
		// precheck refuses such queries; reaching here is a bug of the fake.
		return false, fmt.Errorf("%s.%s is not implemented", n.typ, f.Name)
	}
	a, err := argumentMap(f, r.vars)
	if err != nil {
		return false, err
	}
	v, err := impl.resolve(r, n.src, a)
	if err == nil && f.Definition.Type.Name() == "Int" && !fitsInt32(v) {
		// GraphQL's Int is 32-bit: GitHub answers a larger id (review and
		// check run ids are past 2^31) with an error and null.
		err = &fieldError{typ: TypeIntOutOfRange, msg: fmt.Sprintf("Int cannot represent non 32-bit signed integer value: %v", v)}
	}
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		r.errors = append(r.errors, gqlError{Type: fe.typ, Path: slices.Clone(r.path), Locations: at(f.Position), Message: fe.msg})
		v = nil
	case err != nil:
		return false, err
	case v == nil && f.Definition.Type.NonNull:
		return false, fmt.Errorf("%v: %s.%s is non-null, the fake resolved null", r.path, n.typ, f.Name)
	}
	sets := make([]ast.SelectionSet, 0, len(g.fields))
	for _, f := range g.fields {
		if len(f.SelectionSet) > 0 {
			sets = append(sets, f.SelectionSet)
		}
	}
	return r.complete(buf, f.Definition.Type, v, sets)
}

// lookup is the implementation of a field; nil when there is none.
func (t *objType) lookup(name string) *fieldImpl {
	if t == nil {
		return nil
	}
	return t.fields[name]
}

// argumentMap is f.ArgumentMap, which panics on a literal it cannot read
// (validation leaves none).
func argumentMap(f *ast.Field, vars map[string]any) (a args, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("arguments of %s: %v", f.Name, p)
		}
	}()
	return f.ArgumentMap(vars), nil
}

// complete writes v as a value of type t. ok is false when v (or a
// non-null part of it) is null where t does not allow it.
func (r *request) complete(buf *[]byte, t *ast.Type, v any, sets []ast.SelectionSet) (bool, error) {
	if v == nil {
		if t.NonNull {
			return false, nil
		}
		*buf = append(*buf, "null"...)
		return true, nil
	}
	start := len(*buf)
	ok, err := r.completeNonNull(buf, t, v, sets)
	if err != nil || ok {
		return ok, err
	}
	*buf = (*buf)[:start]
	if t.NonNull {
		return false, nil
	}
	*buf = append(*buf, "null"...)
	return true, nil
}

func (r *request) completeNonNull(buf *[]byte, t *ast.Type, v any, sets []ast.SelectionSet) (bool, error) {
	if t.Elem != nil {
		list, isList := v.([]any)
		if !isList {
			return false, fmt.Errorf("%v: %s wants a list, the fake resolved a %T", r.path, t, v)
		}
		*buf = append(*buf, '[')
		for i, item := range list {
			if i > 0 {
				*buf = append(*buf, ',')
			}
			r.path = append(r.path, i)
			ok, err := r.complete(buf, t.Elem, item, sets)
			r.path = r.path[:len(r.path)-1]
			if err != nil || !ok {
				return false, err
			}
		}
		*buf = append(*buf, ']')
		return true, nil
	}
	def := r.schema.Types[t.NamedType]
	if def == nil {
		return false, fmt.Errorf("%v: unknown type %s", r.path, t.NamedType)
	}
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		b, err := appendLeaf(*buf, def, v)
		if err != nil {
			return false, fmt.Errorf("%v: %w", r.path, err)
		}
		*buf = b
		return true, nil
	}
	var n node
	switch x := v.(type) {
	case node:
		n = x
	case *conn:
		n = node{typ: def.Name, src: x}
	default:
		return false, fmt.Errorf("%v: %s wants an object, the fake resolved a %T", r.path, def.Name, v)
	}
	obj := r.schema.Types[n.typ]
	if obj == nil || obj.Kind != ast.Object || !r.applies(obj, def.Name) {
		return false, fmt.Errorf("%v: %s is not a possible type of %s", r.path, n.typ, def.Name)
	}
	return r.object(buf, n, obj, sets)
}

// fitsInt32 reports whether v, if an integer, fits GraphQL's Int.
func fitsInt32(v any) bool {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	default:
		return true
	}
	return n >= math.MinInt32 && n <= math.MaxInt32
}

// appendLeaf writes a scalar or enum value, checking it is one.
func appendLeaf(b []byte, def *ast.Definition, v any) ([]byte, error) {
	if def.Kind == ast.Enum {
		s, ok := v.(string)
		if !ok || def.EnumValues.ForName(s) == nil {
			return b, fmt.Errorf("%#v is not a value of the enum %s", v, def.Name)
		}
		return appendString(b, s), nil
	}
	switch def.Name {
	case "Int":
		switch n := v.(type) {
		case int:
			return strconv.AppendInt(b, int64(n), 10), nil
		case int64:
			return strconv.AppendInt(b, n, 10), nil
		}
	case "Float":
		switch n := v.(type) {
		case float64:
			return strconv.AppendFloat(b, n, 'g', -1, 64), nil
		case int:
			return strconv.AppendInt(b, int64(n), 10), nil
		}
	case "Boolean":
		if x, ok := v.(bool); ok {
			return strconv.AppendBool(b, x), nil
		}
	default: // String, ID and GitHub's scalars (DateTime, URI, GitObjectID, ...) are strings
		if s, ok := v.(string); ok {
			return appendString(b, s), nil
		}
	}
	return b, fmt.Errorf("%#v (%T) is not a %s", v, v, def.Name)
}

// appendString writes s as a JSON string (invalid UTF-8 replaced).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		rn, size := utf8.DecodeRuneInString(s[i:])
		if rn == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
