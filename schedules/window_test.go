package schedules

import (
	"strings"
	"testing"
	"time"
)

func TestWindowSpecResolve(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		name    string
		spec    WindowSpec
		want    Window
		wantErr string
	}{
		{"default 24h", WindowSpec{}, Window{now.Add(-24 * time.Hour), now}, ""},
		{"since", WindowSpec{Since: 2 * time.Hour}, Window{now.Add(-2 * time.Hour), now}, ""},
		{"dates", WindowSpec{From: "2026-11-20", To: "2026-11-22"}, Window{day(20), day(22)}, ""},
		{"from only", WindowSpec{From: "2026-11-20"}, Window{day(20), now}, ""},
		{"to only", WindowSpec{To: "2026-11-22"}, Window{day(21), day(22)}, ""},
		{"rfc3339 offset", WindowSpec{From: "2026-11-20T01:00:00+01:00", To: "2026-11-21"}, Window{day(20), day(21)}, ""},
		{"since and from", WindowSpec{Since: time.Hour, From: "2026-11-20"}, Window{}, "--since cannot be combined"},
		{"inverted", WindowSpec{From: "2026-11-22", To: "2026-11-20"}, Window{}, "not after its start"},
		{"empty", WindowSpec{From: "2026-11-22", To: "2026-11-22"}, Window{}, "not after its start"},
		{"bad from", WindowSpec{From: "yesterday"}, Window{}, "--from: \"yesterday\""},
		{"future", WindowSpec{From: "2026-11-22", To: "2026-11-25"}, Window{}, "in the future"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.spec.Resolve(now)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Start.Equal(c.want.Start) || !got.End.Equal(c.want.End) {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestWindowContainsIsHalfOpen(t *testing.T) {
	w := Window{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	if !w.Contains(w.Start) {
		t.Error("start must be inside")
	}
	if w.Contains(w.End) {
		t.Error("end must be outside")
	}
	if w.Contains(w.Start.Add(-time.Nanosecond)) {
		t.Error("before start must be outside")
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"24h": 24 * time.Hour, "90m": 90 * time.Minute, "7d": 7 * 24 * time.Hour, "1095d": 1095 * 24 * time.Hour}
	for in, want := range good {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "0s", "-1h", "7 days", "d", "36601d", "99999999999999999999d", "1y"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}
