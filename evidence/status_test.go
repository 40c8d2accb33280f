package evidence_test

import (
	"strings"
	"testing"

	"github.com/changeproof/changeproof/evidence"
)

// rank is the severity order, written out independently of the package.
var rank = map[evidence.Status]int{
	evidence.StatusPass:          0,
	evidence.StatusNotVerifiable: 1,
	evidence.StatusFail:          2,
	evidence.StatusError:         3,
}

func TestStatusValues(t *testing.T) {
	// The wire names are part of the evidence schema.
	want := map[evidence.Status]string{
		evidence.StatusPass: "pass", evidence.StatusFail: "fail",
		evidence.StatusNotVerifiable: "not_verifiable", evidence.StatusError: "error",
	}
	for s, name := range want {
		if string(s) != name {
			t.Errorf("status %q, want %q", s, name)
		}
	}
	if len(evidence.Statuses) != 4 {
		t.Fatalf("Statuses = %v, want the four statuses", evidence.Statuses)
	}
	for i, s := range evidence.Statuses {
		if rank[s] != i {
			t.Errorf("Statuses[%d] = %q: not in increasing severity", i, s)
		}
	}
}

func TestWorse(t *testing.T) {
	for a := range rank {
		for b := range rank {
			want := a
			if rank[b] > rank[a] {
				want = b
			}
			if got := evidence.Worse(a, b); got != want {
				t.Errorf("Worse(%s, %s) = %s, want %s", a, b, got, want)
			}
		}
	}
	// Spelled out, so a reordering of the table above cannot hide a bug.
	for _, c := range [][3]evidence.Status{
		{evidence.StatusError, evidence.StatusFail, evidence.StatusError},
		{evidence.StatusFail, evidence.StatusNotVerifiable, evidence.StatusFail},
		{evidence.StatusNotVerifiable, evidence.StatusPass, evidence.StatusNotVerifiable},
		{evidence.StatusPass, evidence.StatusError, evidence.StatusError},
		{evidence.StatusPass, evidence.StatusPass, evidence.StatusPass},
	} {
		if got := evidence.Worse(c[0], c[1]); got != c[2] {
			t.Errorf("Worse(%s, %s) = %s, want %s", c[0], c[1], got, c[2])
		}
	}
	// An unknown status is never hidden behind a known one.
	for s := range rank {
		if got := evidence.Worse(s, "bogus"); got != "bogus" {
			t.Errorf("Worse(%s, bogus) = %s, want the unknown status to win", s, got)
		}
		if got := evidence.Worse("bogus", s); got != "bogus" {
			t.Errorf("Worse(bogus, %s) = %s, want the unknown status to win", s, got)
		}
	}
}

func findings(ss ...evidence.Status) []evidence.Finding {
	out := make([]evidence.Finding, len(ss))
	for i, s := range ss {
		out[i] = evidence.Finding{Target: "t", Status: s}
	}
	return out
}

func TestOverall(t *testing.T) {
	if got := evidence.Overall(nil); got != evidence.StatusNotVerifiable {
		t.Errorf("Overall(nil) = %s, want not_verifiable", got)
	}
	if got := evidence.Overall([]evidence.Finding{}); got != evidence.StatusNotVerifiable {
		t.Errorf("Overall(empty) = %s, want not_verifiable", got)
	}
	cases := []struct {
		in   []evidence.Status
		want evidence.Status
	}{
		{[]evidence.Status{evidence.StatusPass}, evidence.StatusPass},
		{[]evidence.Status{evidence.StatusPass, evidence.StatusPass}, evidence.StatusPass},
		{[]evidence.Status{evidence.StatusPass, evidence.StatusNotVerifiable}, evidence.StatusNotVerifiable},
		{[]evidence.Status{evidence.StatusNotVerifiable, evidence.StatusFail, evidence.StatusPass}, evidence.StatusFail},
		{[]evidence.Status{evidence.StatusFail, evidence.StatusError, evidence.StatusPass}, evidence.StatusError},
		{[]evidence.Status{evidence.StatusError, evidence.StatusPass}, evidence.StatusError},
		{[]evidence.Status{evidence.StatusNotVerifiable}, evidence.StatusNotVerifiable},
	}
	for _, c := range cases {
		if got := evidence.Overall(findings(c.in...)); got != c.want {
			t.Errorf("Overall(%v) = %s, want %s", c.in, got, c.want)
		}
	}
	// A finding with an unknown or empty status never makes a pass.
	for _, bad := range []evidence.Status{"", "PASS", "ok"} {
		if got := evidence.Overall(findings(evidence.StatusPass, bad)); got == evidence.StatusPass {
			t.Errorf("Overall(pass, %q) = pass", bad)
		}
	}
}

func TestCountByStatus(t *testing.T) {
	m := evidence.CountByStatus(nil)
	if len(m) != 4 {
		t.Errorf("CountByStatus(nil) has %d keys, want all 4: %v", len(m), m)
	}
	for s := range rank {
		if n, ok := m[s]; !ok || n != 0 {
			t.Errorf("CountByStatus(nil)[%s] = %d, %v; want 0, present", s, n, ok)
		}
	}
	fs := findings(evidence.StatusPass, evidence.StatusFail, evidence.StatusPass, evidence.StatusError, evidence.StatusPass)
	m = evidence.CountByStatus(fs)
	want := map[evidence.Status]int{evidence.StatusPass: 3, evidence.StatusFail: 1, evidence.StatusError: 1, evidence.StatusNotVerifiable: 0}
	if len(m) != len(want) {
		t.Errorf("CountByStatus = %v, want %v", m, want)
	}
	total := 0
	for s, n := range want {
		if m[s] != n {
			t.Errorf("CountByStatus[%s] = %d, want %d", s, m[s], n)
		}
		total += m[s]
	}
	if total != len(fs) {
		t.Errorf("counts sum to %d for %d findings", total, len(fs))
	}
}

func TestParseStatus(t *testing.T) {
	for s := range rank {
		got, err := evidence.ParseStatus(string(s))
		if err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %q, %v", s, got, err)
		}
		if !s.Valid() {
			t.Errorf("%q.Valid() = false", s)
		}
	}
	for _, bad := range []string{"", "PASS", "Pass", "passed", " pass", "pass ", "unknown", "not-verifiable", "notverifiable", "warn"} {
		got, err := evidence.ParseStatus(bad)
		if err == nil {
			t.Errorf("ParseStatus(%q) = %q, want an error", bad, got)
			continue
		}
		if got != "" {
			t.Errorf("ParseStatus(%q) returned %q with its error", bad, got)
		}
		if !strings.Contains(err.Error(), "not_verifiable") {
			t.Errorf("ParseStatus(%q) error does not list the valid statuses: %v", bad, err)
		}
		if evidence.Status(bad).Valid() {
			t.Errorf("Status(%q).Valid() = true", bad)
		}
	}
}
