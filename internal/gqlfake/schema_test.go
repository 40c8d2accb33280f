package gqlfake

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// pullsQuery is the query merge-activity sends: the contract.
const pullsQuery = "../../collectors/mergeactivity/pulls.graphql"

func gunzip(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEmbeddedSchemaIsThePublishedOne: the embedded schema, gunzipped, has
// the sha256 schema/README.md records for the published schema.graphql.
func TestEmbeddedSchemaIsThePublishedOne(t *testing.T) {
	readme, err := os.ReadFile("schema/README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("`package/schema\\.graphql`[^\n]*sha256 `([0-9a-f]{64})`").FindSubmatch(readme)
	if m == nil {
		t.Fatal("schema/README.md records no sha256 of package/schema.graphql")
	}
	sum := sha256.Sum256(gunzip(t, schemaGz))
	if got := hex.EncodeToString(sum[:]); got != string(m[1]) {
		t.Errorf("embedded schema sha256 %s, README says %s", got, m[1])
	}
}

// TestSchemaLoadsDroppingItsTwoDuplicates: the published schema loads,
// once, and exactly its two known duplicate fields are dropped.
func TestSchemaLoadsDroppingItsTwoDuplicates(t *testing.T) {
	s, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Schema(); again != s {
		t.Error("Schema loaded twice")
	}
	if s.Types["PullRequest"] == nil || s.Query == nil || s.Query.Name != "Query" {
		t.Fatal("the schema has no PullRequest or Query")
	}
	_, dropped, err := parseSchema(schemaGz)
	if err != nil || dropped != 2 {
		t.Errorf("dropped %d duplicate fields (%v), want 2 (EnterpriseOwnerInfo.repositoryDeployKeySetting and ...Organizations)", dropped, err)
	}
	n := 0
	for _, f := range s.Types["EnterpriseOwnerInfo"].Fields {
		if f.Name == "repositoryDeployKeySetting" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("EnterpriseOwnerInfo.repositoryDeployKeySetting is defined %d times", n)
	}
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDuplicateFieldsThatDifferAreRefused: only exact duplicates are
// dropped; one that differs in type or arguments is an error naming it.
func TestDuplicateFieldsThatDifferAreRefused(t *testing.T) {
	if _, n, err := parseSchema(gz(t, "type Query { a(x: Int): Int\n a(x: Int): Int }")); err != nil || n != 1 {
		t.Errorf("an exact duplicate: dropped %d, %v", n, err)
	}
	for _, src := range []string{
		"type Query { a: Int\n a: String }",
		"type Query { a(x: Int): Int\n a(y: Int): Int }",
		"type Query { a: Int\n a: Int! }",
	} {
		_, _, err := parseSchema(gz(t, src))
		if err == nil || !strings.Contains(err.Error(), "Query.a") {
			t.Errorf("%q: %v, want an error naming Query.a", src, err)
		}
	}
}

// TestValidateAcceptsThePullsQuery: merge-activity's query is valid
// against GitHub's schema.
func TestValidateAcceptsThePullsQuery(t *testing.T) {
	q, err := os.ReadFile(pullsQuery)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(string(q)); err != nil {
		t.Error(err)
	}
}

// TestValidateNamesEveryProblem: misspelt fields and an unknown argument
// are each named, with their positions, on one line.
func TestValidateNamesEveryProblem(t *testing.T) {
	err := Validate(`query { repository(owner: "a", name: "b") { pullRequests(first: 1, colour: 3) { nodes { titel numbr } } } }`)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{`"titel" on type "PullRequest"`, `"numbr"`, "colour", "1:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %s", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if err := Validate("query {"); err == nil {
		t.Error("a syntax error is accepted")
	}
}
