package schedules

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

// ts parses an RFC 3339 time (nanoseconds allowed) or fails the test.
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

// win builds a window from two RFC 3339 times.
func win(t testing.TB, start, end string) Window {
	t.Helper()
	return Window{Start: ts(t, start), End: ts(t, end)}
}

func loadLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	if name == "" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("loading zone %s: %v", name, err)
	}
	return loc
}

func mustParse(t testing.TB, spec, zone string) *Schedule {
	t.Helper()
	s, err := ParseSchedule(spec, loadLoc(t, zone))
	if err != nil {
		t.Fatalf("ParseSchedule(%q, %q): %v", spec, zone, err)
	}
	return s
}

// sameWindows compares exactly, including that every bound is in UTC.
func sameWindows(t testing.TB, got, want []Window) {
	t.Helper()
	for _, w := range got {
		if w.Start.Location() != time.UTC || w.End.Location() != time.UTC {
			t.Errorf("window %s is not in UTC: %v / %v", w, w.Start.Location(), w.End.Location())
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d windows %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End) {
			t.Fatalf("window %d = %s, want %s (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestParseScheduleAccepts(t *testing.T) {
	cases := []struct {
		spec, zone string
		wantString string
		from, next string // Next(from) must be next
	}{
		{"0 2 * * *", "", "0 2 * * * (UTC)", "2026-11-23T00:00:00Z", "2026-11-23T02:00:00Z"},
		{"  0 2 * * *\t", "", "0 2 * * * (UTC)", "2026-11-23T02:00:00Z", "2026-11-24T02:00:00Z"},
		{"0 6 * * mon", "", "0 6 * * mon (UTC)", "2026-11-23T06:00:00Z", "2026-11-30T06:00:00Z"},
		{"*/1 * * * * *", "", "*/1 * * * * * (UTC)", "2026-11-23T00:00:00.5Z", "2026-11-23T00:00:01Z"},
		{"30 0 2 * * *", "", "30 0 2 * * * (UTC)", "2026-11-23T00:00:00Z", "2026-11-23T02:00:30Z"},
		{"@yearly", "", "@yearly (UTC)", "2026-11-23T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"@annually", "", "@annually (UTC)", "2026-11-23T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"@monthly", "", "@monthly (UTC)", "2026-11-23T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"@weekly", "", "@weekly (UTC)", "2026-11-23T00:00:00Z", "2026-11-29T00:00:00Z"},
		{"@daily", "Europe/Berlin", "@daily (Europe/Berlin)", "2026-11-23T00:00:00Z", "2026-11-23T23:00:00Z"},
		{"@midnight", "", "@midnight (UTC)", "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"},
		{"@hourly", "", "@hourly (UTC)", "2026-11-23T00:00:00Z", "2026-11-23T01:00:00Z"},
		{"@every 15m", "", "@every 15m (UTC)", "2026-11-23T00:07:00Z", "2026-11-23T00:15:00Z"},
		{"@every 1s", "", "@every 1s (UTC)", "2026-11-23T00:00:00.25Z", "2026-11-23T00:00:01Z"},
		// 2026-11-23T00:00Z is 5h past a multiple of 7h since the epoch.
		{"@every 7h", "Europe/Berlin", "@every 7h (Europe/Berlin)", "2026-11-23T00:00:00Z", "2026-11-23T02:00:00Z"},
		{"@every   1h30m", "", "@every   1h30m (UTC)", "2026-11-23T00:00:00Z", "2026-11-23T01:30:00Z"},
		{"0 0 29 2 *", "", "0 0 29 2 * (UTC)", "2026-11-23T00:00:00Z", "2028-02-29T00:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			s := mustParse(t, c.spec, c.zone)
			if got := s.String(); got != c.wantString {
				t.Errorf("String() = %q, want %q", got, c.wantString)
			}
			if got := s.Spec(); got != strings.TrimSpace(c.spec) {
				t.Errorf("Spec() = %q, want %q", got, strings.TrimSpace(c.spec))
			}
			wantLoc := "UTC"
			if c.zone != "" {
				wantLoc = c.zone
			}
			if got := s.Location().String(); got != wantLoc {
				t.Errorf("Location() = %s, want %s", got, wantLoc)
			}
			got := s.Next(ts(t, c.from))
			if !got.Equal(ts(t, c.next)) {
				t.Errorf("Next(%s) = %s, want %s", c.from, got.UTC().Format(time.RFC3339Nano), c.next)
			}
			if got.Location().String() != wantLoc {
				t.Errorf("Next returned a time in %s, want %s", got.Location(), wantLoc)
			}
		})
	}
}

func TestParseScheduleRefuses(t *testing.T) {
	cases := []struct{ spec, wantErr string }{
		{"", "cron spec is empty"},
		{"   ", "cron spec is empty"},
		{"0 2 * *", `cron spec "0 2 * *": expected 5 to 6 fields, found 4`},
		{"0 2 * * * * *", "expected 5 to 6 fields, found 7"},
		{"61 * * * *", "above maximum (59)"},
		{"0 25 * * *", "above maximum (23)"},
		{"x 2 * * *", "failed to parse int from x"},
		{"0 2 * * funday", "failed to parse int from funday"},
		{"TZ=Europe/Berlin 0 2 * * *", "TZ= or CRON_TZ= prefix is not accepted; set the job's timezone key instead"},
		{"CRON_TZ=UTC @daily", "set the job's timezone key instead"},
		{"TZ=Europe/Berlin", "set the job's timezone key instead"}, // robfig itself panics on this one
		{"tz=Europe/Berlin 0 2 * * *", "set the job's timezone key instead"},
		{"@every 500ms", "@every 500ms: must be at least 1s"},
		{"@every 0s", "must be at least 1s"},
		{"@every -1m", "must be at least 1s"},
		{"@every 1500ms", "@every 1500ms: must be a whole number of seconds"},
		{"@every 1m0.5s", "must be a whole number of seconds"},
		{"@every", "@every needs a duration"},
		{"@every 2562047h", "must be at most 5 years"},
		{"@every soon", "@every soon: not a Go duration"},
		{"@everyday", "unrecognized descriptor: @everyday"},
		{"@fortnightly", "unrecognized descriptor: @fortnightly"},
		{"@daily 5", "unrecognized descriptor"},
		{"@daily\n0 2 * * *", `cron spec "@daily\n0 2 * * *": control character at byte 6`},
		{"0 2 * * *\x00", "control character at byte 9"},
		{"0 0 30 2 *", `cron spec "0 0 30 2 *" never fires (no tick within 5 years)`},
		{"0 0 31 4 *", "never fires"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			s, err := ParseSchedule(c.spec, nil)
			if err == nil {
				t.Fatalf("ParseSchedule(%q) = %v, want an error containing %q", c.spec, s, c.wantErr)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q does not contain %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if s != nil {
				t.Errorf("got a schedule %v with the error", s)
			}
		})
	}
}

// dueCase describes one Due call and its exact result. An empty last means
// the job never ran; latest additionally checks Latest(now) when set.
type dueCase struct {
	name, spec, zone string
	last, now        string
	max              int
	want             [][2]string
	missed           [2]string
	latest           [2]string
}

func runDueCases(t *testing.T, cases []dueCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, c.spec, c.zone)
			var last time.Time
			if c.last != "" {
				last = ts(t, c.last)
			}
			now := ts(t, c.now)
			d, err := s.Due(last, now, c.max)
			if err != nil {
				t.Fatalf("Due: %v", err)
			}
			want := make([]Window, len(c.want))
			for i, w := range c.want {
				want[i] = win(t, w[0], w[1])
			}
			sameWindows(t, d.Windows, want)
			if c.missed[0] == "" {
				if d.Missed != (Window{}) {
					t.Errorf("Missed = %s, want none", d.Missed)
				}
			} else {
				sameWindows(t, []Window{d.Missed}, []Window{win(t, c.missed[0], c.missed[1])})
			}
			if c.latest[0] != "" {
				got, err := s.Latest(now)
				if err != nil {
					t.Fatalf("Latest: %v", err)
				}
				sameWindows(t, []Window{got}, []Window{win(t, c.latest[0], c.latest[1])})
			}
		})
	}
}

func TestDueExactWindows(t *testing.T) {
	runDueCases(t, []dueCase{
		{name: "@daily never ran", spec: "@daily", now: "2026-11-23T10:00:00Z",
			want:   [][2]string{{"2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"}},
			latest: [2]string{"2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"}},
		{name: "0 2 daily never ran", spec: "0 2 * * *", now: "2026-11-23T10:00:00Z",
			want:   [][2]string{{"2026-11-22T02:00:00Z", "2026-11-23T02:00:00Z"}},
			latest: [2]string{"2026-11-22T02:00:00Z", "2026-11-23T02:00:00Z"}},
		{name: "0 2 daily before today's tick", spec: "0 2 * * *", now: "2026-11-23T01:59:59Z",
			want: [][2]string{{"2026-11-21T02:00:00Z", "2026-11-22T02:00:00Z"}}},
		{name: "0 2 daily two due", spec: "0 2 * * *", last: "2026-11-21T02:00:00Z", now: "2026-11-23T10:00:00Z",
			want: [][2]string{{"2026-11-21T02:00:00Z", "2026-11-22T02:00:00Z"}, {"2026-11-22T02:00:00Z", "2026-11-23T02:00:00Z"}}},
		{name: "@weekly never ran", spec: "@weekly", now: "2026-11-25T12:00:00Z",
			want:   [][2]string{{"2026-11-15T00:00:00Z", "2026-11-22T00:00:00Z"}},
			latest: [2]string{"2026-11-15T00:00:00Z", "2026-11-22T00:00:00Z"}},
		{name: "@weekly two due", spec: "@weekly", last: "2026-11-08T00:00:00Z", now: "2026-11-25T12:00:00Z",
			want: [][2]string{{"2026-11-08T00:00:00Z", "2026-11-15T00:00:00Z"}, {"2026-11-15T00:00:00Z", "2026-11-22T00:00:00Z"}}},
		{name: "mondays 06:00", spec: "0 6 * * 1", last: "2026-11-09T06:00:00Z", now: "2026-11-25T12:00:00Z",
			want:   [][2]string{{"2026-11-09T06:00:00Z", "2026-11-16T06:00:00Z"}, {"2026-11-16T06:00:00Z", "2026-11-23T06:00:00Z"}},
			latest: [2]string{"2026-11-16T06:00:00Z", "2026-11-23T06:00:00Z"}},
		{name: "@hourly", spec: "@hourly", last: "2026-11-23T07:00:00Z", now: "2026-11-23T10:30:00Z",
			want: [][2]string{
				{"2026-11-23T07:00:00Z", "2026-11-23T08:00:00Z"},
				{"2026-11-23T08:00:00Z", "2026-11-23T09:00:00Z"},
				{"2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"}},
			latest: [2]string{"2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"}},
		{name: "6-field every 10s", spec: "*/10 * * * * *", last: "2026-11-23T10:00:00Z", now: "2026-11-23T10:00:25.5Z",
			want:   [][2]string{{"2026-11-23T10:00:00Z", "2026-11-23T10:00:10Z"}, {"2026-11-23T10:00:10Z", "2026-11-23T10:00:20Z"}},
			latest: [2]string{"2026-11-23T10:00:10Z", "2026-11-23T10:00:20Z"}},
		{name: "6-field daily at 02:00:30", spec: "30 0 2 * * *", now: "2026-11-23T10:00:00Z",
			want: [][2]string{{"2026-11-22T02:00:30Z", "2026-11-23T02:00:30Z"}}},
		{name: "@every 15m", spec: "@every 15m", last: "2026-11-23T09:15:00Z", now: "2026-11-23T10:07:00Z",
			want: [][2]string{
				{"2026-11-23T09:15:00Z", "2026-11-23T09:30:00Z"},
				{"2026-11-23T09:30:00Z", "2026-11-23T09:45:00Z"},
				{"2026-11-23T09:45:00Z", "2026-11-23T10:00:00Z"}},
			latest: [2]string{"2026-11-23T09:45:00Z", "2026-11-23T10:00:00Z"}},
		{name: "@every 1s", spec: "@every 1s", last: "2026-11-23T10:00:00Z", now: "2026-11-23T10:00:02.5Z",
			want:   [][2]string{{"2026-11-23T10:00:00Z", "2026-11-23T10:00:01Z"}, {"2026-11-23T10:00:01Z", "2026-11-23T10:00:02Z"}},
			latest: [2]string{"2026-11-23T10:00:01Z", "2026-11-23T10:00:02Z"}},
		{name: "@every 7h anchored at the epoch, not at now", spec: "@every 7h", zone: "Europe/Berlin", now: "2026-11-23T10:00:00Z",
			want: [][2]string{{"2026-11-23T02:00:00Z", "2026-11-23T09:00:00Z"}}},
	})
}

func TestDueTimeZones(t *testing.T) {
	runDueCases(t, []dueCase{
		{name: "@daily Berlin", spec: "@daily", zone: "Europe/Berlin", now: "2026-11-24T08:00:00Z",
			want: [][2]string{{"2026-11-22T23:00:00Z", "2026-11-23T23:00:00Z"}}},
		{name: "@daily Berlin summer", spec: "@daily", zone: "Europe/Berlin", last: "2026-07-01T22:00:00Z", now: "2026-07-03T08:00:00Z",
			want: [][2]string{{"2026-07-01T22:00:00Z", "2026-07-02T22:00:00Z"}}},
		{name: "@daily Kolkata", spec: "@daily", zone: "Asia/Kolkata", now: "2026-11-24T08:00:00Z",
			want: [][2]string{{"2026-11-22T18:30:00Z", "2026-11-23T18:30:00Z"}}},
		{name: "@daily Berlin spring forward is 23h", spec: "@daily", zone: "Europe/Berlin", now: "2026-03-30T08:00:00Z",
			want: [][2]string{{"2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"}}},
		{name: "@daily Berlin fall back is 25h", spec: "@daily", zone: "Europe/Berlin", now: "2026-10-26T08:00:00Z",
			want: [][2]string{{"2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"}}},
		// 02:30 does not exist on 2026-03-29 in Berlin: robfig skips that day.
		{name: "30 2 Berlin spring forward", spec: "30 2 * * *", zone: "Europe/Berlin", last: "2026-03-27T01:30:00Z", now: "2026-03-31T06:00:00Z",
			want: [][2]string{
				{"2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z"},
				{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"},
				{"2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}}},
		// 02:30 happens twice on 2026-10-25 in Berlin: robfig fires twice.
		{name: "30 2 Berlin fall back", spec: "30 2 * * *", zone: "Europe/Berlin", last: "2026-10-23T00:30:00Z", now: "2026-10-27T06:00:00Z",
			want: [][2]string{
				{"2026-10-23T00:30:00Z", "2026-10-24T00:30:00Z"},
				{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z"},
				{"2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"},
				{"2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"},
				{"2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"}}},
		{name: "hourly Berlin spring forward", spec: "0 * * * *", zone: "Europe/Berlin", last: "2026-03-29T00:00:00Z", now: "2026-03-29T02:30:00Z",
			want: [][2]string{{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"}, {"2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}}},
		{name: "hourly Berlin fall back", spec: "0 * * * *", zone: "Europe/Berlin", last: "2026-10-24T23:00:00Z", now: "2026-10-25T02:30:00Z",
			want: [][2]string{
				{"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z"},
				{"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z"},
				{"2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}}},
		{name: "@weekly New York spring forward", spec: "@weekly", zone: "America/New_York", last: "2026-03-01T05:00:00Z", now: "2026-03-16T12:00:00Z",
			want: [][2]string{{"2026-03-01T05:00:00Z", "2026-03-08T05:00:00Z"}, {"2026-03-08T05:00:00Z", "2026-03-15T04:00:00Z"}}},
		// robfig quirk (documented at ParseSchedule): right after Lord Howe's
		// 30-minute fall back on 2026-04-05, @daily skips the valid midnight
		// of 04-06; the window spans it.
		{name: "@daily Lord Howe skips a day", spec: "@daily", zone: "Australia/Lord_Howe", last: "2026-04-04T13:00:00Z", now: "2026-04-07T12:00:00Z",
			want: [][2]string{{"2026-04-04T13:00:00Z", "2026-04-06T13:30:00Z"}}},
		{name: "@weekly New York fall back", spec: "@weekly", zone: "America/New_York", last: "2026-10-25T04:00:00Z", now: "2026-11-09T12:00:00Z",
			want: [][2]string{{"2026-10-25T04:00:00Z", "2026-11-01T04:00:00Z"}, {"2026-11-01T04:00:00Z", "2026-11-08T05:00:00Z"}}},
	})
}

// TestDSTWindowDurations states the DST behaviour documented at ParseSchedule
// as durations, independent of the exact instants above.
func TestDSTWindowDurations(t *testing.T) {
	cases := []struct {
		spec, zone, last, now string
		want                  []time.Duration
	}{
		{"@daily", "Europe/Berlin", "2026-03-27T23:00:00Z", "2026-03-30T12:00:00Z", []time.Duration{24 * time.Hour, 23 * time.Hour}},
		{"@daily", "Europe/Berlin", "2026-10-23T22:00:00Z", "2026-10-26T12:00:00Z", []time.Duration{24 * time.Hour, 25 * time.Hour}},
		{"30 2 * * *", "Europe/Berlin", "2026-03-27T01:30:00Z", "2026-03-31T12:00:00Z", []time.Duration{24 * time.Hour, 47 * time.Hour, 24 * time.Hour}},
		{"30 2 * * *", "Europe/Berlin", "2026-10-24T00:30:00Z", "2026-10-26T12:00:00Z", []time.Duration{24 * time.Hour, time.Hour, 24 * time.Hour}},
		{"@weekly", "America/New_York", "2026-03-01T05:00:00Z", "2026-03-16T12:00:00Z", []time.Duration{168 * time.Hour, 167 * time.Hour}},
		{"@weekly", "America/New_York", "2026-10-25T04:00:00Z", "2026-11-09T12:00:00Z", []time.Duration{168 * time.Hour, 169 * time.Hour}},
	}
	for _, c := range cases {
		t.Run(c.spec+" "+c.zone+" "+c.last, func(t *testing.T) {
			d, err := mustParse(t, c.spec, c.zone).Due(ts(t, c.last), ts(t, c.now), 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Duration
			for i, w := range d.Windows {
				got = append(got, w.Duration())
				if i > 0 && !w.Start.Equal(d.Windows[i-1].End) {
					t.Errorf("window %d starts at %s, previous ended at %s", i, w.Start, d.Windows[i-1].End)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("durations %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("durations %v, want %v", got, c.want)
				}
			}
		})
	}
}

// days lists the windows [first+i days, first+i+1 days) in UTC for i < n.
func days(t testing.TB, first string, n int) [][2]string {
	start := ts(t, first)
	out := make([][2]string, n)
	for i := range out {
		out[i] = [2]string{start.AddDate(0, 0, i).Format(time.RFC3339), start.AddDate(0, 0, i+1).Format(time.RFC3339)}
	}
	return out
}

func TestDueCatchUp(t *testing.T) {
	runDueCases(t, []dueCase{
		{name: "never ran", spec: "@daily", now: "2026-11-23T10:00:00Z",
			want: [][2]string{{"2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"}}},
		{name: "up to date", spec: "@daily", last: "2026-11-23T00:00:00Z", now: "2026-11-23T10:00:00Z"},
		{name: "last equals now", spec: "@daily", last: "2026-11-23T00:00:00Z", now: "2026-11-23T00:00:00Z"},
		{name: "3 days down", spec: "@daily", last: "2026-11-20T00:00:00Z", now: "2026-11-23T10:00:00Z",
			want: days(t, "2026-11-20T00:00:00Z", 3)},
		// 40 windows are due (Oct 14 .. Nov 23): the newest 31 are kept,
		// the first 9 days are Missed.
		{name: "40 days down", spec: "@daily", last: "2026-10-14T00:00:00Z", now: "2026-11-23T10:00:00Z",
			want:   days(t, "2026-10-23T00:00:00Z", 31),
			missed: [2]string{"2026-10-14T00:00:00Z", "2026-10-23T00:00:00Z"}},
		{name: "40 days down max 5", spec: "@daily", last: "2026-10-14T00:00:00Z", now: "2026-11-23T10:00:00Z", max: 5,
			want:   days(t, "2026-11-18T00:00:00Z", 5),
			missed: [2]string{"2026-10-14T00:00:00Z", "2026-11-18T00:00:00Z"}},
		{name: "negative max means default", spec: "@daily", last: "2026-10-14T00:00:00Z", now: "2026-11-23T10:00:00Z", max: -1,
			want:   days(t, "2026-10-23T00:00:00Z", 31),
			missed: [2]string{"2026-10-14T00:00:00Z", "2026-10-23T00:00:00Z"}},
		{name: "exactly max due", spec: "@daily", last: "2026-10-23T00:00:00Z", now: "2026-11-23T10:00:00Z",
			want: days(t, "2026-10-23T00:00:00Z", 31)},
		{name: "max plus one due", spec: "@daily", last: "2026-10-22T00:00:00Z", now: "2026-11-23T10:00:00Z",
			want:   days(t, "2026-10-23T00:00:00Z", 31),
			missed: [2]string{"2026-10-22T00:00:00Z", "2026-10-23T00:00:00Z"}},
		{name: "max 1", spec: "@daily", last: "2026-11-20T00:00:00Z", now: "2026-11-23T10:00:00Z", max: 1,
			want:   days(t, "2026-11-22T00:00:00Z", 1),
			missed: [2]string{"2026-11-20T00:00:00Z", "2026-11-22T00:00:00Z"}},
		{name: "schedule changed from @daily to 06:00", spec: "0 6 * * *", last: "2026-11-20T00:00:00Z", now: "2026-11-23T10:00:00Z",
			want: [][2]string{
				{"2026-11-20T00:00:00Z", "2026-11-20T06:00:00Z"},
				{"2026-11-20T06:00:00Z", "2026-11-21T06:00:00Z"},
				{"2026-11-21T06:00:00Z", "2026-11-22T06:00:00Z"},
				{"2026-11-22T06:00:00Z", "2026-11-23T06:00:00Z"}}},
		{name: "schedule changed and down long", spec: "0 6 * * *", last: "2026-10-14T00:00:00Z", now: "2026-11-23T10:00:00Z", max: 3,
			want: [][2]string{
				{"2026-11-20T06:00:00Z", "2026-11-21T06:00:00Z"},
				{"2026-11-21T06:00:00Z", "2026-11-22T06:00:00Z"},
				{"2026-11-22T06:00:00Z", "2026-11-23T06:00:00Z"}},
			missed: [2]string{"2026-10-14T00:00:00Z", "2026-11-20T06:00:00Z"}},
		{name: "schedule changed, no tick since", spec: "0 6 * * *", last: "2026-11-23T00:00:00Z", now: "2026-11-23T05:59:59Z"},
		{name: "now exactly on a tick", spec: "@daily", last: "2026-11-22T00:00:00Z", now: "2026-11-23T00:00:00Z",
			want:   [][2]string{{"2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"}},
			latest: [2]string{"2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"}},
		{name: "now 1ns before a tick", spec: "@daily", last: "2026-11-21T00:00:00Z", now: "2026-11-22T23:59:59.999999999Z",
			want:   [][2]string{{"2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"}},
			latest: [2]string{"2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"}},
		{name: "now 1ns before a tick, nothing due", spec: "@daily", last: "2026-11-22T00:00:00Z", now: "2026-11-22T23:59:59.999999999Z"},
		{name: "hourly down 1000 hours", spec: "@hourly", last: "2026-10-12T22:00:00Z", now: "2026-11-23T14:10:00Z", max: 3,
			want: [][2]string{
				{"2026-11-23T11:00:00Z", "2026-11-23T12:00:00Z"},
				{"2026-11-23T12:00:00Z", "2026-11-23T13:00:00Z"},
				{"2026-11-23T13:00:00Z", "2026-11-23T14:00:00Z"}},
			missed: [2]string{"2026-10-12T22:00:00Z", "2026-11-23T11:00:00Z"}},
		{name: "@every 1s down a day", spec: "@every 1s", last: "2026-11-22T10:00:00Z", now: "2026-11-23T10:00:02.5Z", max: 2,
			want:   [][2]string{{"2026-11-23T10:00:00Z", "2026-11-23T10:00:01Z"}, {"2026-11-23T10:00:01Z", "2026-11-23T10:00:02Z"}},
			missed: [2]string{"2026-11-22T10:00:00Z", "2026-11-23T10:00:00Z"}},
		{name: "Berlin 30 2 down across spring forward", spec: "30 2 * * *", zone: "Europe/Berlin", last: "2026-03-01T01:30:00Z", now: "2026-03-31T06:00:00Z", max: 2,
			want:   [][2]string{{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"}, {"2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}},
			missed: [2]string{"2026-03-01T01:30:00Z", "2026-03-28T01:30:00Z"}},
	})
}

func TestDueRefusesLastAfterNow(t *testing.T) {
	s := mustParse(t, "@daily", "")
	now := ts(t, "2026-11-23T10:00:00Z")
	for _, last := range []time.Time{now.Add(time.Nanosecond), now.Add(48 * time.Hour)} {
		d, err := s.Due(last, now, 0)
		if err == nil {
			t.Fatalf("Due(last=%s) = %v, want an error", last, d)
		}
		for _, want := range []string{"after now", last.Format(time.RFC3339Nano), "clock went backwards"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	}
}

func TestPrev(t *testing.T) {
	cases := []struct {
		name, spec, zone, at, want string
	}{
		{"on a tick", "@daily", "", "2026-11-23T00:00:00Z", "2026-11-23T00:00:00Z"},
		{"1ns after a tick", "@daily", "", "2026-11-23T00:00:00.000000001Z", "2026-11-23T00:00:00Z"},
		{"1ns before a tick", "@daily", "", "2026-11-22T23:59:59.999999999Z", "2026-11-22T00:00:00Z"},
		{"seconds with nanoseconds", "*/1 * * * * *", "", "2026-11-23T10:00:00.5Z", "2026-11-23T10:00:00Z"},
		{"seconds on a tick", "*/1 * * * * *", "", "2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z"},
		{"daily in Berlin", "0 2 * * *", "Europe/Berlin", "2026-11-23T00:59:59Z", "2026-11-22T01:00:00Z"},
		{"leap day, years back", "0 0 29 2 *", "", "2027-06-01T00:00:00Z", "2024-02-29T00:00:00Z"},
		{"every minute in January, from December", "* * * 1 *", "", "2026-12-15T00:00:00Z", "2026-01-31T23:59:00Z"},
		{"every second in January, from December", "* * * * 1 *", "", "2026-12-15T00:00:00Z", "2026-01-31T23:59:59Z"},
		{"every second in January, inside January", "* * * * 1 *", "", "2026-01-10T12:00:00.7Z", "2026-01-10T12:00:00Z"},
		{"repeated 02:30, between the two", "30 2 * * *", "Europe/Berlin", "2026-10-25T01:00:00Z", "2026-10-25T00:30:00Z"},
		{"repeated 02:30, on the second", "30 2 * * *", "Europe/Berlin", "2026-10-25T01:30:00Z", "2026-10-25T01:30:00Z"},
		{"skipped 02:30", "30 2 * * *", "Europe/Berlin", "2026-03-29T12:00:00Z", "2026-03-28T01:30:00Z"},
		{"@every on a tick", "@every 15m", "", "2026-11-23T10:15:00Z", "2026-11-23T10:15:00Z"},
		{"@every before the epoch", "@every 15m", "", "1969-12-31T23:50:00Z", "1969-12-31T23:45:00Z"},
		{"@every 7h", "@every 7h", "Asia/Tokyo", "2026-11-23T08:59:59.9Z", "2026-11-23T02:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustParse(t, c.spec, c.zone)
			got, ok := s.Prev(ts(t, c.at))
			if !ok {
				t.Fatalf("Prev(%s) found no tick", c.at)
			}
			if !got.Equal(ts(t, c.want)) {
				t.Fatalf("Prev(%s) = %s, want %s", c.at, got.UTC().Format(time.RFC3339Nano), c.want)
			}
			if got.Location() != s.Location() {
				t.Errorf("Prev returned a time in %s, want %s", got.Location(), s.Location())
			}
		})
	}
}

// The leap day of 2100 does not exist, so from 2104-02-28 the last
// 29 February is more than 5 years back.
func TestPrevNoneWithinFiveYears(t *testing.T) {
	s := mustParse(t, "0 0 29 2 *", "")
	at := ts(t, "2104-02-28T00:00:00Z")
	if got, ok := s.Prev(at); ok {
		t.Fatalf("Prev(%s) = %s, want none", at, got)
	}
	if w, err := s.Latest(at); err == nil || !strings.Contains(err.Error(), "no tick in the 5 years up to 2104-02-28T00:00:00Z") {
		t.Fatalf("Latest = %v, %v; want a no-tick error", w, err)
	}
	if d, err := s.Due(time.Time{}, at, 0); err == nil {
		t.Fatalf("Due on a never-ran job = %v, want the Latest error", d)
	}
	// From 2104-03-01 the tick of 2104-02-29 is found again.
	got, ok := s.Prev(ts(t, "2104-03-01T00:00:00Z"))
	if !ok || !got.Equal(ts(t, "2104-02-29T00:00:00Z")) {
		t.Fatalf("Prev(2104-03-01) = %s, %v; want 2104-02-29", got, ok)
	}
}

func TestZeroScheduleDoesNotPanic(t *testing.T) {
	for _, s := range []*Schedule{nil, {}} {
		if n := s.Next(time.Now()); !n.IsZero() {
			t.Errorf("Next on an empty schedule = %s, want zero", n)
		}
		if _, ok := s.Prev(time.Now()); ok {
			t.Error("Prev on an empty schedule found a tick")
		}
		if _, err := s.Latest(time.Now()); err == nil {
			t.Error("Latest on an empty schedule: want an error")
		}
		if _, err := s.Due(time.Time{}, time.Now(), 0); err == nil {
			t.Error("Due on an empty schedule: want an error")
		}
		if got := s.String(); got != " (UTC)" {
			t.Errorf("String() = %q", got)
		}
	}
}

// checkDue asserts the invariants of a Due result for (last, now, max).
func checkDue(t *testing.T, s *Schedule, last, now time.Time, max int, strict bool) {
	t.Helper()
	ctx := func() string {
		return s.String() + " last=" + last.UTC().Format(time.RFC3339Nano) + " now=" + now.UTC().Format(time.RFC3339Nano)
	}
	d, err := s.Due(last, now, max)
	if err != nil {
		t.Fatalf("%s: Due: %v", ctx(), err)
	}
	limit := max
	if limit <= 0 {
		limit = DefaultMaxCatchUp
	}
	if len(d.Windows) > limit {
		t.Fatalf("%s: %d windows, max %d", ctx(), len(d.Windows), limit)
	}
	if len(d.Windows) == 0 {
		if d.Missed != (Window{}) {
			t.Fatalf("%s: Missed %s without windows", ctx(), d.Missed)
		}
		if n := s.Next(last); !n.IsZero() && !n.After(now) {
			t.Fatalf("%s: nothing due but a tick at %s", ctx(), n)
		}
		return
	}
	first := d.Windows[0].Start
	if last.IsZero() {
		// Never ran: exactly Latest(now).
		w, err := s.Latest(now)
		if err != nil || len(d.Windows) != 1 || d.Windows[0] != w || d.Missed != (Window{}) {
			t.Fatalf("%s: never ran: Due = %v, want Latest = %s (%v)", ctx(), d, w, err)
		}
		last = first
	}
	if d.Missed != (Window{}) {
		if len(d.Windows) != limit {
			t.Fatalf("%s: Missed %s with only %d windows", ctx(), d.Missed, len(d.Windows))
		}
		if err := d.Missed.Validate(); err != nil || !d.Missed.Start.Equal(last) || !d.Missed.End.Equal(first) {
			t.Fatalf("%s: Missed %s does not run from last to the first window %s (%v)", ctx(), d.Missed, d.Windows[0], err)
		}
	} else if !first.Equal(last) {
		t.Fatalf("%s: first window %s does not start at last", ctx(), d.Windows[0])
	}
	for i, w := range d.Windows {
		if err := w.Validate(); err != nil {
			t.Fatalf("%s: window %d %s: %v", ctx(), i, w, err)
		}
		if i > 0 && !w.Start.Equal(d.Windows[i-1].End) {
			t.Fatalf("%s: window %d %s does not start where %s ended", ctx(), i, w, d.Windows[i-1])
		}
		if strict {
			// No tick inside a window, and every end is a tick.
			if n := s.Next(w.Start); !n.Equal(w.End) {
				t.Fatalf("%s: window %d %s, but the first tick after its start is %s", ctx(), i, w, n.UTC())
			}
			if p, ok := s.Prev(w.End); !ok || !p.Equal(w.End) {
				t.Fatalf("%s: window %d ends at %s, which Prev does not see as a tick (%s)", ctx(), i, w.End, p.UTC())
			}
		}
	}
	lastEnd := d.Windows[len(d.Windows)-1].End
	if lastEnd.After(now) {
		t.Fatalf("%s: last window %s ends after now", ctx(), d.Windows[len(d.Windows)-1])
	}
	again, err := s.Due(lastEnd, now, max)
	if err != nil || len(again.Windows) != 0 || again.Missed != (Window{}) {
		t.Fatalf("%s: Due from the last end %s = %v, %v; want nothing", ctx(), lastEnd, again, err)
	}
}

var propertySpecs = []string{
	"@daily", "@hourly", "@weekly", "@monthly", "@yearly",
	"0 2 * * *", "30 2 * * *", "0 6 * * 1", "15 */2 * * *", "0 0 1,15 * *", "*/20 * * * * *",
	"0 9-17 * * 1-5", "@every 15m", "@every 1s", "@every 7h", "@every 36h",
}

func TestDueProperties(t *testing.T) {
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo", "Pacific/Auckland"}
	rng := rand.New(rand.NewSource(20261123))
	base := ts(t, "2025-01-01T00:00:00Z")
	const span = 2 * 365 * 24 * time.Hour
	for i := 0; i < 600; i++ {
		s := mustParse(t, propertySpecs[rng.Intn(len(propertySpecs))], zones[rng.Intn(len(zones))])
		now := base.Add(time.Duration(rng.Int63n(int64(span))))
		var last time.Time
		switch rng.Intn(4) {
		case 0: // never ran
		case 1: // last on a tick, random distance back
			p, ok := s.Prev(now.Add(-time.Duration(rng.Int63n(int64(60 * 24 * time.Hour)))))
			if !ok {
				t.Fatalf("%s: no tick before %s", s, now)
			}
			last = p
		default: // last anywhere (schedule changed), possibly with nanoseconds
			last = now.Add(-time.Duration(rng.Int63n(int64(60 * 24 * time.Hour))))
		}
		max := []int{0, 1, 5, 31, 500}[rng.Intn(5)]
		checkDue(t, s, last, now, max, true)
		// Prev and Next agree around now.
		if p, ok := s.Prev(now); ok {
			if p.After(now) || !s.Next(p).After(now) {
				t.Fatalf("%s: Prev(%s) = %s, but Next of it is %s", s, now, p, s.Next(p))
			}
			if n := s.Next(now); !n.IsZero() {
				if pn, ok := s.Prev(n); !ok || !pn.Equal(n) {
					t.Fatalf("%s: Prev(Next(%s) = %s) = %s", s, now, n, pn)
				}
			}
		}
	}
}

// TestDueExoticZones covers zones where robfig's ticks are irregular next to
// a change (30-minute DST, changes at midnight, odd offsets): windows must
// still be contiguous, non-empty and end by now.
func TestDueExoticZones(t *testing.T) {
	zones := []string{"Australia/Lord_Howe", "Asia/Beirut", "Antarctica/Troll", "Pacific/Chatham", "America/Caracas", "Asia/Tehran", "America/Santiago"}
	rng := rand.New(rand.NewSource(7))
	base := ts(t, "2015-01-01T00:00:00Z")
	const span = 12 * 365 * 24 * time.Hour
	for i := 0; i < 400; i++ {
		s := mustParse(t, propertySpecs[rng.Intn(len(propertySpecs))], zones[rng.Intn(len(zones))])
		now := base.Add(time.Duration(rng.Int63n(int64(span))))
		last := now.Add(-time.Duration(rng.Int63n(int64(40 * 24 * time.Hour))))
		if rng.Intn(2) == 0 {
			last = time.Time{}
		}
		checkDue(t, s, last, now, []int{0, 3, 500}[rng.Intn(3)], false)
	}
}

// TestDaemonSimulation runs a daemon for years: it wakes at random times,
// collects what Due returns and carries the last end forward. Every instant
// must be covered exactly once (collected or Missed), across every DST change
// of the zones, including the exotic ones.
func TestDaemonSimulation(t *testing.T) {
	// Two years each, in years in which the zone changed its clocks.
	zones := []struct{ name, from string }{
		{"Europe/Berlin", "2025-01-01"}, {"America/New_York", "2025-01-01"}, {"Australia/Lord_Howe", "2025-01-01"},
		{"Asia/Beirut", "2025-01-01"}, {"America/Santiago", "2025-01-01"}, {"Antarctica/Troll", "2025-01-01"},
		{"America/Caracas", "2015-06-01"}, {"Asia/Tehran", "2021-01-01"},
	}
	specs := []string{"@daily", "30 2 * * *", "0 12 * * 0", "15 */2 * * *", "@every 36h"}
	for _, zone := range zones {
		t.Run(zone.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewSource(99))
			for _, spec := range specs {
				simulateDaemon(t, rng, mustParse(t, spec, zone.name), ts(t, zone.from+"T00:00:00Z"))
			}
		})
	}
}

// simulateDaemon wakes a daemon at random times for two years from now,
// collecting what Due returns and carrying the last end forward.
func simulateDaemon(t *testing.T, rng *rand.Rand, s *Schedule, now time.Time) {
	t.Helper()
	end := now.AddDate(2, 0, 0)
	var last time.Time
	for now.Before(end) {
		now = now.Add(time.Hour + time.Duration(rng.Int63n(int64(8*24*time.Hour))))
		d, err := s.Due(last, now, 0)
		if err != nil {
			t.Fatalf("%s: Due(%s, %s): %v", s, last, now, err)
		}
		if len(d.Windows) == 0 {
			continue
		}
		start := d.Windows[0].Start
		if d.Missed != (Window{}) {
			start = d.Missed.Start
			if !d.Missed.End.Equal(d.Windows[0].Start) {
				t.Fatalf("%s: Missed %s does not reach %s", s, d.Missed, d.Windows[0])
			}
		}
		if !last.IsZero() && !start.Equal(last) {
			t.Fatalf("%s at %s: coverage restarts at %s, last end was %s", s, now, start, last)
		}
		for i, w := range d.Windows {
			if !w.End.After(w.Start) || (i > 0 && !w.Start.Equal(d.Windows[i-1].End)) {
				t.Fatalf("%s at %s: window %d %s is empty or not contiguous: %v", s, now, i, w, d.Windows)
			}
		}
		last = d.Windows[len(d.Windows)-1].End
		if last.After(now) {
			t.Fatalf("%s: window ends %s after now %s", s, last, now)
		}
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"0 2 * * *", "@daily", "@every 1h", "TZ=UTC", "*/0 * * * *", "1-2-3 * * * *", "0 0 30 2 *", "@every 9999999h", "5/ * * * *", "@\n0"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSchedule(spec, time.UTC)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if n := s.Next(now); !n.IsZero() && !n.After(now) {
			t.Fatalf("%s: Next(%s) = %s is not after", s, now, n)
		}
		if p, ok := s.Prev(now); ok && p.After(now) {
			t.Fatalf("%s: Prev(%s) = %s is after", s, now, p)
		}
	})
}

func BenchmarkDue(b *testing.B) {
	s := mustParse(b, "@hourly", "Europe/Berlin")
	now := ts(b, "2026-11-23T10:30:00Z")
	last := ts(b, "2026-11-22T03:00:00Z") // 31 hourly windows due
	if d, err := s.Due(last, now, 0); err != nil || len(d.Windows) != 31 || d.Missed != (Window{}) {
		b.Fatalf("Due = %d windows, missed %s, %v; want 31", len(d.Windows), d.Missed, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Due(last, now, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDueCatchUp(b *testing.B) {
	s := mustParse(b, "@hourly", "Europe/Berlin")
	now := ts(b, "2026-11-23T10:30:00Z")
	last := ts(b, "2026-10-12T00:00:00Z") // about 1000 hourly windows due
	if d, err := s.Due(last, now, 0); err != nil || len(d.Windows) != 31 || d.Missed == (Window{}) {
		b.Fatalf("Due = %d windows, missed %s, %v; want 31 and a Missed window", len(d.Windows), d.Missed, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Due(last, now, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrev(b *testing.B) {
	s := mustParse(b, "0 2 * * *", "Europe/Berlin")
	at := ts(b, "2026-11-23T10:30:00Z")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Prev(at); !ok {
			b.Fatal("no tick")
		}
	}
}

func BenchmarkPrevDense(b *testing.B) {
	s := mustParse(b, "* * * * 1 *", "Europe/Berlin") // every second in January
	at := ts(b, "2026-12-15T00:00:00Z")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Prev(at); !ok {
			b.Fatal("no tick")
		}
	}
}
