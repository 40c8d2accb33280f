package gqlfake

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"
)

// undefinedField matches gqlparser's message for a field its type does not
// have.
var undefinedField = regexp.MustCompile(`^Cannot query field "([^"]+)" on type "([^"]+)"\.`)

// validationErrors turns parse and validation errors into answer errors:
// gqlparser's messages with their locations, the rule in
// extensions.code; an unknown field is worded as GitHub words it
// ("Field 'titel' doesn't exist on type 'PullRequest'", code
// undefinedField).
func validationErrors(errs gqlerror.List) []gqlError {
	out := make([]gqlError, 0, len(errs))
	for _, e := range errs {
		g := gqlError{Message: e.Message, Locations: locations(e.Locations)}
		code := e.Rule
		if code == "" {
			code = "parseError"
		}
		g.Extensions = map[string]any{"code": code}
		if m := undefinedField.FindStringSubmatch(e.Message); m != nil {
			g.Message = fmt.Sprintf("Field '%s' doesn't exist on type '%s'", m[1], m[2])
			g.Extensions = map[string]any{"code": "undefinedField", "typeName": m[2], "fieldName": m[1]}
		}
		out = append(out, g)
	}
	return out
}

func locations(ls []gqlerror.Location) []location {
	out := make([]location, 0, len(ls))
	for _, l := range ls {
		out = append(out, location{Line: l.Line, Column: l.Column})
	}
	return out
}

func at(p *ast.Position) []location {
	if p == nil {
		return nil
	}
	return []location{{Line: p.Line, Column: p.Column}}
}

// selectOperation picks the operation to run: the one named, or the only
// one.
func selectOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, *gqlError) {
	if name != "" {
		if op := doc.Operations.ForName(name); op != nil {
			return op, nil
		}
		return nil, &gqlError{Message: fmt.Sprintf("No operation named %q", name)}
	}
	if len(doc.Operations) != 1 {
		return nil, &gqlError{Message: "An operation name is required"}
	}
	return doc.Operations[0], nil
}

// coerceVariables checks the variables against the operation's
// definitions, as GitHub does before executing.
func coerceVariables(s *ast.Schema, op *ast.OperationDefinition, vars map[string]any) (map[string]any, []gqlError) {
	if vars == nil {
		vars = map[string]any{}
	}
	coerced, err := validator.VariableValues(s, op, vars)
	if err == nil {
		return coerced, nil
	}
	g := gqlError{Message: err.Error()}
	var ge *gqlerror.Error
	if errors.As(err, &ge) {
		g.Message = ge.Message
		if len(ge.Path) > 1 {
			if name, ok := ge.Path[1].(ast.PathName); ok {
				if def := op.VariableDefinitions.ForName(string(name)); def != nil {
					g.Message = fmt.Sprintf("Variable $%s of type %s was provided invalid value", name, def.Type)
					g.Locations = at(def.Position)
					g.Extensions = map[string]any{"value": vars[string(name)], "problems": []any{map[string]any{"path": []any{}, "explanation": ge.Message}}}
				}
			}
		}
	}
	return nil, []gqlError{g}
}
