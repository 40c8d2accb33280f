package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder captures failures instead of failing the real test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, format)
}

func TestCompare(t *testing.T) {
	path := filepath.Join(t.TempDir(), "expected.json")
	got := JSON(t, map[string]any{"b": 2, "a": "<x>"})
	if string(got) != "{\n  \"a\": \"<x>\",\n  \"b\": 2\n}\n" {
		t.Fatalf("JSON = %q", got)
	}
	Compare(t, path, got, true, "-update")
	if data, _ := os.ReadFile(path); string(data) != string(got) {
		t.Fatal("update did not write the file")
	}
	r := &recorder{TB: t}
	Compare(r, path, got, false, "-update")
	if len(r.errs) != 0 {
		t.Fatalf("equal content reported: %v", r.errs)
	}
	Compare(r, path, JSON(t, map[string]int{"a": 1}), false, "-update")
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "differs") {
		t.Fatalf("difference not reported: %v", r.errs)
	}
}

func TestFirstDiff(t *testing.T) {
	if d := FirstDiff([]byte("a\nb\nc"), []byte("a\nx\nc")); !strings.Contains(d, "line 2") || !strings.Contains(d, "want: b") || !strings.Contains(d, "got:  x") {
		t.Fatalf("FirstDiff = %q", d)
	}
	if d := FirstDiff([]byte("a"), []byte("a\nmore")); !strings.Contains(d, "line 2") {
		t.Fatalf("a longer text: %q", d)
	}
	if d := FirstDiff([]byte("same"), []byte("same")); d != "no difference" {
		t.Fatalf("FirstDiff = %q", d)
	}
}
