package cli_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The example in docs/evidence.md is real evidence: the store beside it
// verifies with the documented key, and the statement printed in the doc is
// exactly the envelope's payload. If the format changes, run scripts/docs-example.sh.
func TestDocsExampleIsGenuine(t *testing.T) {
	docs := filepath.Join("..", "..", "docs")
	r := run(t, "verify", filepath.Join(docs, "example", "store"), "--pubkey", filepath.Join(docs, "example", "signing.key.pub"))
	if r.code != 0 || !strings.Contains(r.stdout, "OK    1 envelope(s)") {
		t.Fatalf("docs/example/store does not verify: %+v", r)
	}
	files := envelopes(t, filepath.Join(docs, "example", "store"))
	if len(files) != 1 {
		t.Fatalf("want one example envelope, found %v", files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(docs, "evidence.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	marker := "Its payload decoded — the in-toto statement, in full:\n\n```json\n"
	i := strings.Index(s, marker)
	if i < 0 {
		t.Fatal("docs/evidence.md has no decoded statement block")
	}
	block := s[i+len(marker):]
	block = block[:strings.Index(block, "\n```")]
	var inDoc, inEnvelope any
	if err := json.Unmarshal([]byte(block), &inDoc); err != nil {
		t.Fatalf("the doc's statement is not JSON: %v", err)
	}
	if err := json.Unmarshal(payload, &inEnvelope); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(inDoc, inEnvelope) {
		t.Fatal("the statement in docs/evidence.md differs from the example envelope's payload")
	}
	for _, field := range []string{`"_type"`, `"subject"`, `"predicateType"`, `"collector"`, `"controls"`, `"scope"`, `"window"`, `"collectedAt"`, `"status"`, `"counts"`, `"findings"`, `"policy"`, `"rawFacts"`, `"previous"`} {
		if !strings.Contains(block, field) {
			t.Errorf("the documented example lacks %s", field)
		}
	}
}
