package coverage_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/changeproof/changeproof/internal/coverage/coveragetest"
)

// TestReportMatchesTheDocumentedSchema validates a real report (every
// window status, gaps, exceptions, problems) against docs/coverage.schema.json,
// and checks that every field it holds is declared there and documented in
// docs/coverage.md.
func TestReportMatchesTheDocumentedSchema(t *testing.T) {
	schemaPath, err := filepath.Abs(filepath.Join("..", "..", "docs", "coverage.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatalf("compiling %s: %v", schemaPath, err)
	}
	s := newScenario(t, coveragetest.New(t))
	data, err := json.Marshal(s.compute(t))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("the report does not match %s: %v", schemaPath, err)
	}

	schemaText, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "coverage.md"))
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatal(err)
	}
	var fields []string
	collectKeys(generic, &fields)
	slices.Sort(fields)
	for _, f := range slices.Compact(fields) {
		if !bytes.Contains(schemaText, []byte(`"`+f+`"`)) {
			t.Errorf("field %q is not declared in docs/coverage.schema.json", f)
		}
		if !bytes.Contains(doc, []byte("`"+f+"`")) {
			t.Errorf("field %q is not documented in docs/coverage.md", f)
		}
	}
	// A report that breaks the schema is refused: the test can fail.
	bad, err := jsonschema.UnmarshalJSON(strings.NewReader(strings.Replace(string(data), `"status":"missing"`, `"status":"gone"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if sch.Validate(bad) == nil {
		t.Error("a window status outside the schema validated")
	}
}

func collectKeys(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			*out = append(*out, k)
			collectKeys(e, out)
		}
	case []any:
		for _, e := range v {
			collectKeys(e, out)
		}
	}
}
