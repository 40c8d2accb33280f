package golden

import (
	"encoding/json"
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

type facts struct {
	N   int             `json:"n"`
	Raw json.RawMessage `json:"raw"`
	// lost does not serialise: a judgement that reads it cannot be redone.
	lost int
}

func TestReEvaluates(t *testing.T) {
	f := &facts{N: 2, Raw: json.RawMessage(`{"a":1}`), lost: 5}
	fromN := func(f facts) []int { return []int{f.N * 10} }
	r := &recorder{TB: t}
	ReEvaluates(r, f, []int{20}, fromN)
	if len(r.errs) != 0 {
		t.Fatalf("same findings reported: %v", r.errs)
	}
	ReEvaluates(r, f, []int{f.lost}, func(f facts) []int { return []int{f.lost} })
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "other findings") {
		t.Fatalf("findings that do not survive serialisation not reported: %v", r.errs)
	}
}

func TestReadStrictAndOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "case.json")
	if err := os.WriteFile(path, []byte(`{"n": 3, "raw": {"x": true}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var f facts
	ReadStrict(t, path, &f)
	if f.N != 3 {
		t.Fatalf("ReadStrict read %+v", f)
	}
	p := struct {
		X bool `json:"x"`
		Y int  `json:"y"`
	}{Y: 7}
	Overrides(t, "policy", f.Raw, &p)
	if !p.X || p.Y != 7 {
		t.Fatalf("Overrides gave %+v, want x set and the default y kept", p)
	}
	Overrides(t, "policy", nil, &p)
	if !p.X || p.Y != 7 {
		t.Fatalf("empty overrides changed %+v", p)
	}
}
