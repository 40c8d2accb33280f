package gqlfake

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// schemaGz is GitHub's published schema (schema/README.md says which).
//
//go:embed schema/github.graphql.gz
var schemaGz []byte

// SchemaName is the source name of the embedded schema in error positions.
const SchemaName = "github.graphql"

// loadSchema is the embedded schema, parsed and validated once.
var loadSchema = sync.OnceValues(func() (*ast.Schema, error) {
	s, _, err := parseSchema(schemaGz)
	return s, err
})

// Schema is GitHub's published GraphQL schema, embedded, loaded once. The
// schema is shared: do not modify it.
func Schema() (*ast.Schema, error) { return loadSchema() }

// parseSchema gunzips and loads a schema, dropping exact duplicate field
// definitions (GitHub's published schema declares two fields of
// EnterpriseOwnerInfo twice) and returning how many it dropped. A duplicate
// that differs from the first definition (type or arguments) is an error.
func parseSchema(gz []byte) (*ast.Schema, int, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, 0, fmt.Errorf("gqlfake: reading the embedded schema: %w", err)
	}
	src, err := io.ReadAll(zr)
	if err != nil {
		return nil, 0, fmt.Errorf("gqlfake: reading the embedded schema: %w", err)
	}
	doc, err := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: SchemaName, Input: string(src)})
	if err != nil {
		return nil, 0, fmt.Errorf("gqlfake: parsing the schema: %w", err)
	}
	dropped := 0
	for _, def := range append(append(ast.DefinitionList{}, doc.Definitions...), doc.Extensions...) {
		kept, n, err := dedupeFields(def)
		if err != nil {
			return nil, 0, err
		}
		def.Fields, dropped = kept, dropped+n
	}
	s, err := validator.ValidateSchemaDocument(doc)
	if err != nil {
		return nil, 0, fmt.Errorf("gqlfake: validating the schema: %w", err)
	}
	return s, dropped, nil
}

// dedupeFields drops the repeated definitions of a field that are exactly
// the first one again.
func dedupeFields(def *ast.Definition) (ast.FieldList, int, error) {
	seen := map[string]*ast.FieldDefinition{}
	kept := def.Fields[:0:0]
	for _, f := range def.Fields {
		first, dup := seen[f.Name]
		if !dup {
			seen[f.Name] = f
			kept = append(kept, f)
			continue
		}
		if a, b := signature(first), signature(f); a != b {
			return nil, 0, fmt.Errorf("gqlfake: schema: %s.%s is defined twice, differently: %s and %s", def.Name, f.Name, a, b)
		}
	}
	return kept, len(def.Fields) - len(kept), nil
}

// signature is a field definition's type and arguments, as SDL.
func signature(f *ast.FieldDefinition) string {
	var b strings.Builder
	b.WriteString("(")
	for i, a := range f.Arguments {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Name + ": " + a.Type.String())
		if a.DefaultValue != nil {
			b.WriteString(" = " + a.DefaultValue.String())
		}
	}
	b.WriteString("): " + f.Type.String())
	return b.String()
}

// Validate checks a query document against GitHub's schema. The error
// lists every problem on one line, each with its line:column.
func Validate(query string) error {
	s, err := Schema()
	if err != nil {
		return err
	}
	_, errs := parseQuery(s, query)
	if len(errs) == 0 {
		return nil
	}
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Message
		if len(e.Locations) > 0 {
			parts[i] = fmt.Sprintf("%d:%d: %s", e.Locations[0].Line, e.Locations[0].Column, e.Message)
		}
	}
	return errors.New("gqlfake: invalid query: " + strings.Join(parts, "; "))
}

// parseQuery parses and validates a query document.
func parseQuery(s *ast.Schema, query string) (*ast.QueryDocument, gqlerror.List) {
	doc, err := parser.ParseQuery(&ast.Source{Name: "query", Input: query})
	if err != nil {
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			return nil, gqlerror.List{ge}
		}
		return nil, gqlerror.List{gqlerror.Wrap(err)}
	}
	if errs := validator.Validate(s, doc); len(errs) > 0 {
		return nil, errs
	}
	return doc, nil
}
