// Package schedules decides which time windows are collected and when.
// Collectors know how to collect one window; they never choose it.
package schedules

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Window is the half-open interval [Start, End).
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Contains reports whether t lies in [Start, End).
func (w Window) Contains(t time.Time) bool {
	return !t.Before(w.Start) && t.Before(w.End)
}

// Duration is End - Start.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// Validate checks that the window is not empty or inverted.
func (w Window) Validate() error {
	if w.Start.IsZero() || w.End.IsZero() {
		return errors.New("window needs a start and an end")
	}
	if !w.End.After(w.Start) {
		return fmt.Errorf("window end %s is not after its start %s", w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
	}
	return nil
}

// String renders the window as "[start, end)" in RFC 3339.
func (w Window) String() string {
	return "[" + w.Start.UTC().Format(time.RFC3339) + ", " + w.End.UTC().Format(time.RFC3339) + ")"
}

// ParseTime accepts an RFC 3339 timestamp or a date (YYYY-MM-DD, midnight UTC).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-23T00:00:00Z) nor a date (2026-11-23)", s)
}

// WindowSpec is how a user names a window on the command line: --from/--to,
// or --since relative to now. An empty spec means the 24 hours up to now.
type WindowSpec struct {
	From, To string
	Since    time.Duration
}

// DefaultSince is the window used when no bound is given.
const DefaultSince = 24 * time.Hour

// Resolve turns the spec into a window using now for open ends. Errors name
// the flag at fault.
func (s WindowSpec) Resolve(now time.Time) (Window, error) {
	now = now.UTC()
	if s.Since != 0 && (s.From != "" || s.To != "") {
		return Window{}, errors.New("--since cannot be combined with --from or --to")
	}
	if s.Since < 0 {
		return Window{}, fmt.Errorf("--since %s: must be positive", s.Since)
	}
	w := Window{End: now}
	switch {
	case s.Since > 0:
		w.Start = now.Add(-s.Since)
	case s.From != "":
		t, err := ParseTime(s.From)
		if err != nil {
			return Window{}, fmt.Errorf("--from: %w", err)
		}
		w.Start = t
	default:
		w.Start = now.Add(-DefaultSince)
	}
	if s.To != "" {
		t, err := ParseTime(s.To)
		if err != nil {
			return Window{}, fmt.Errorf("--to: %w", err)
		}
		w.End = t
	}
	if s.To != "" && s.From == "" && s.Since == 0 {
		w.Start = w.End.Add(-DefaultSince)
	}
	if err := w.Validate(); err != nil {
		return Window{}, fmt.Errorf("--from/--to: %w", err)
	}
	if w.End.After(now) {
		return Window{}, fmt.Errorf("--to %s is in the future (now is %s): evidence cannot cover time that has not happened", w.End.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return w, nil
}

var daysRE = regexp.MustCompile(`^(\d+)d$`)

// ParseDuration accepts a Go duration (24h, 90m) or a number of days (7d,
// 1095d), and refuses zero, negative and absurd (over 100 years) values.
func ParseDuration(s string) (time.Duration, error) {
	const maxDays = 36600
	if m := daysRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n <= 0 || n > maxDays {
			return 0, fmt.Errorf("%q: days must be 1..%d", s, maxDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > maxDays*24*time.Hour {
		return 0, fmt.Errorf("%q: want a positive duration such as 24h, 90m or 7d", s)
	}
	return d, nil
}
