// Package golden holds the helpers collectors' golden tests share: stable
// JSON, a first-difference message, compare-or-rewrite of an expected file,
// and strict decoding of test case files.
package golden

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// JSON marshals v indented, without HTML escaping, with a trailing newline.
func JSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FirstDiff describes the first differing line of two texts.
func FirstDiff(want, got []byte) string {
	wl := strings.Split(string(want), "\n")
	gl := strings.Split(string(got), "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, w, g)
		}
	}
	return "no difference"
}

// Compare checks got against the file at path, or rewrites the file when
// update is set. hint says how to rewrite it (e.g. "go test -run TestGolden
// -update").
func Compare(t testing.TB, path string, got []byte, update bool, hint string) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (%s creates it)", err, hint)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (%s rewrites it), first difference at %s", path, hint, FirstDiff(want, got))
	}
}

// DecodeStrict decodes JSON into v, failing the test on unknown fields.
func DecodeStrict(t testing.TB, what string, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ReadStrict reads the JSON file at path into v as DecodeStrict does,
// naming the file by its base name; a file that cannot be read fails the
// test.
func ReadStrict(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	DecodeStrict(t, filepath.Base(path), data, v)
}

// Overrides decodes a test case's policy overrides into p (a policy holding
// the defaults), failing the test on unknown keys; empty raw overrides
// nothing. what names the overrides in a failure.
func Overrides(t testing.TB, what string, raw json.RawMessage, p any) {
	t.Helper()
	if len(raw) > 0 {
		DecodeStrict(t, what, raw, p)
	}
}

// ReEvaluates asserts what an auditor relies on: the raw facts, once
// serialised and read back, evaluate to the same findings (compared as
// JSON).
func ReEvaluates[F, R any](t testing.TB, facts *F, findings R, evaluate func(F) R) {
	t.Helper()
	data, err := json.Marshal(facts)
	if err != nil {
		t.Fatalf("facts do not serialise: %v", err)
	}
	var back F
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("facts do not deserialise: %v", err)
	}
	again := evaluate(back)
	if a, b := JSON(t, again), JSON(t, findings); !bytes.Equal(a, b) {
		t.Errorf("re-evaluating the serialised facts gives other findings: %s", FirstDiff(b, a))
	}
}
