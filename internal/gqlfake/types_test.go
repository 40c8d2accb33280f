package gqlfake

import (
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// TestImplementedTypesAreGitHubs: every type and field the fake implements
// is in GitHub's schema, every argument a field honours is one of the
// field's, and each connection's edge type is the schema's.
func TestImplementedTypesAreGitHubs(t *testing.T) {
	s, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range types {
		def := s.Types[name]
		if def == nil || def.Kind != ast.Object {
			t.Errorf("%s is not an object type of the schema", name)
			continue
		}
		for fname, f := range typ.fields {
			fd := def.Fields.ForName(fname)
			if fd == nil {
				t.Errorf("%s.%s is not in the schema", name, fname)
				continue
			}
			for a := range f.args {
				if fd.Arguments.ForName(a) == nil {
					t.Errorf("%s.%s has no argument %s", name, fname, a)
				}
			}
			if isConnection(fd) && types[fd.Type.Name()] == nil {
				t.Errorf("%s.%s returns %s, which the fake does not implement", name, fname, fd.Type.Name())
			}
		}
	}
	for _, c := range connections {
		edges := s.Types[c].Fields.ForName("edges")
		if edges == nil || types[edges.Type.Name()] == nil {
			t.Errorf("%s: edges of type %v not implemented", c, edges)
		}
	}
}

func TestPathFor(t *testing.T) {
	for base, want := range map[string]string{
		"/api/v3/": "/api/graphql",
		"/api/v3":  "/api/graphql",
		"/":        "/graphql",
		"":         "/graphql",
		"/gh/":     "/gh/graphql",
		"/a/b":     "/a/b/graphql",
	} {
		if got := PathFor(base); got != want {
			t.Errorf("PathFor(%q) = %q, want %q", base, got, want)
		}
	}
}
