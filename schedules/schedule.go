package schedules

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"
)

// DefaultMaxCatchUp is how many missed windows are collected at most when catching up.
const DefaultMaxCatchUp = 31

// lookback is how far Prev searches for an earlier tick, and how far ahead
// ParseSchedule looks for a first tick ("~5 years", as robfig's own Next).
const lookback = 5 * 365 * 24 * time.Hour

// walkLimit is how many ticks Prev walks forward one by one before it
// switches to bisection (schedules with many ticks close together).
const walkLimit = 64

// parser accepts 5-field specs, 6-field specs with a leading seconds field
// and the descriptors. "@every" never reaches it: it is anchored here.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a cron schedule in a time zone; its ticks bound the windows. It
// implements cron.Schedule (github.com/robfig/cron/v3) so the daemon can hand
// it to cron.Cron.Schedule. Create it with ParseSchedule; it is safe for
// concurrent use.
type Schedule struct {
	spec  string
	loc   *time.Location
	ticks cron.Schedule // Next(t) is the first tick strictly after t
}

var _ cron.Schedule = (*Schedule)(nil)

// ParseSchedule parses a cron spec in loc (nil = UTC). Accepted: 5-field
// standard specs ("0 2 * * *"), 6-field specs with a leading seconds field
// ("*/1 * * * * *"), descriptors @yearly @annually @monthly @weekly @daily
// @midnight @hourly, and "@every D" (D a Go duration, at least 1s, whole
// seconds). Refused with a one-line error: an empty spec, bad fields, a "TZ="
// or "CRON_TZ=" prefix (the job's timezone key sets the zone), @every below 1s
// or not whole seconds, and schedules that never fire ("0 0 30 2 *").
//
// Ticks are computed on the wall clock of loc with robfig/cron's rules:
//   - "@every D" ticks at the Unix epoch + k*D, whatever loc is ("@every 24h"
//     ticks at 00:00 UTC), and is not affected by daylight saving time.
//   - A wall-clock time skipped when clocks go forward does not fire that day:
//     "30 2 * * *" in Europe/Berlin has no tick on 2026-03-29 (02:00 CET jumps
//     to 03:00 CEST), so that window lasts 47h. Hourly specs simply have one
//     tick fewer that day.
//   - A wall-clock time repeated when clocks go back fires twice: "30 2 * * *"
//     in Europe/Berlin ticks at 02:30 CEST and again at 02:30 CET on
//     2026-10-25, a 1h window between two 24h ones.
//   - Midnight-based specs follow the local day: @daily in Europe/Berlin gives
//     a 23h window across 2026-03-29 and a 25h one across 2026-10-25.
//   - In zones with unusual transitions (30-minute DST as Australia/Lord_Howe,
//     changes at midnight as Asia/Beirut, offset changes as America/Caracas in
//     2016) robfig may skip an occurrence next to the change; the window then
//     spans the skipped tick.
func ParseSchedule(spec string, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("cron spec is empty: want e.g. \"0 2 * * *\", \"@daily\" or \"@every 1h\"")
	}
	if i := strings.IndexFunc(spec, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }); i >= 0 {
		return nil, fmt.Errorf("cron spec %q: control character at byte %d", spec, i)
	}
	upper := strings.ToUpper(spec)
	if strings.HasPrefix(upper, "TZ=") || strings.HasPrefix(upper, "CRON_TZ=") {
		return nil, fmt.Errorf("cron spec %q: a TZ= or CRON_TZ= prefix is not accepted; set the job's timezone key instead", spec)
	}
	s := &Schedule{spec: spec, loc: loc}
	if rest, ok := strings.CutPrefix(spec, "@every"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		e, err := parseEvery(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("cron spec %q: %w", spec, err)
		}
		s.ticks = e
		return s, nil
	}
	parsed, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("cron spec %q: %w", spec, err)
	}
	s.ticks = inZone{sched: parsed, loc: loc}
	// A fixed reference keeps parsing independent of the clock.
	ref := time.Date(2000, time.January, 1, 0, 0, 0, 0, loc)
	if s.Next(ref).IsZero() {
		return nil, fmt.Errorf("cron spec %q never fires (no tick within 5 years)", spec)
	}
	return s, nil
}

// parseEvery parses the duration of "@every D".
func parseEvery(d string) (every, error) {
	if d == "" {
		return every{}, errors.New("@every needs a duration such as 15m or 1h")
	}
	dur, err := time.ParseDuration(d)
	if err != nil {
		return every{}, fmt.Errorf("@every %s: not a Go duration such as 15m or 1h", d)
	}
	if dur < time.Second {
		return every{}, fmt.Errorf("@every %s: must be at least 1s", d)
	}
	if dur%time.Second != 0 {
		return every{}, fmt.Errorf("@every %s: must be a whole number of seconds", d)
	}
	if dur > lookback {
		return every{}, fmt.Errorf("@every %s: must be at most 5 years (43800h)", d)
	}
	return every{secs: int64(dur / time.Second)}, nil
}

// every ticks at the Unix epoch + k*secs seconds. Unlike robfig's
// ConstantDelaySchedule it does not depend on when Next is called.
type every struct{ secs int64 }

// Next is the first tick strictly after t.
func (e every) Next(t time.Time) time.Time {
	return time.Unix((floorDiv(t.Unix(), e.secs)+1)*e.secs, 0)
}

// prev is the last tick at or before t. time.Time.Unix rounds down, so a t
// with nanoseconds after a tick still finds that tick.
func (e every) prev(t time.Time) time.Time {
	return time.Unix(floorDiv(t.Unix(), e.secs)*e.secs, 0)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// inZone computes a robfig schedule on the wall clock of loc: robfig's
// SpecSchedule uses the location of the time it is given unless the spec has
// a TZ= prefix, which ParseSchedule refuses.
type inZone struct {
	sched cron.Schedule
	loc   *time.Location
}

// Next is the first tick strictly after t, or zero if none within 5 years.
func (z inZone) Next(t time.Time) time.Time {
	n := z.sched.Next(t.In(z.loc))
	// robfig promises a tick after t; should a DST corner ever break that,
	// ask again from the bad tick rather than hand out an empty window.
	for i := 0; i < 3 && !n.IsZero() && !n.After(t); i++ {
		n = z.sched.Next(n)
	}
	if !n.After(t) {
		return time.Time{}
	}
	return n
}

// Spec is the cron spec as given (surrounding spaces removed).
func (s *Schedule) Spec() string {
	if s == nil {
		return ""
	}
	return s.spec
}

// Location is the time zone the ticks are computed in.
func (s *Schedule) Location() *time.Location {
	if s == nil || s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// String is the spec and the zone, e.g. "@daily (Europe/Berlin)".
func (s *Schedule) String() string {
	return s.Spec() + " (" + s.Location().String() + ")"
}

// Next is the first tick strictly after t, in the schedule's location, or the
// zero time if there is none within 5 years (cron.Schedule).
func (s *Schedule) Next(t time.Time) time.Time {
	if s == nil || s.ticks == nil {
		return time.Time{}
	}
	n := s.ticks.Next(t)
	if n.IsZero() {
		return n
	}
	return n.In(s.Location())
}

// Prev is the last tick at or before t, in the schedule's location; ok is
// false if there is none within 5 years. If t is a tick, Prev(t) == t.
func (s *Schedule) Prev(t time.Time) (tick time.Time, ok bool) {
	if s == nil || s.ticks == nil {
		return time.Time{}, false
	}
	return s.prevHint(t, time.Minute)
}

// prevHint is Prev with a guess of the gap before the tick for robfig
// schedules: the search back from t starts with that step.
func (s *Schedule) prevHint(t time.Time, step time.Duration) (time.Time, bool) {
	if e, isEvery := s.ticks.(every); isEvery {
		return e.prev(t).In(s.Location()), true
	}
	return s.prevFrom(t, step)
}

// prevFrom is Prev for robfig schedules, searching back from t with a first
// step of step (doubled until a tick in (t-step, t] turns up).
func (s *Schedule) prevFrom(t time.Time, step time.Duration) (time.Time, bool) {
	if step < time.Second {
		step = time.Second
	}
	// hi always satisfies Next(hi) > t: no tick in (hi, t].
	hi := t
	var tick time.Time
	for {
		if step > lookback {
			step = lookback
		}
		lo := t.Add(-step)
		n := s.Next(lo)
		if !n.IsZero() && !n.After(t) {
			tick = n
			break
		}
		if step == lookback {
			return time.Time{}, false
		}
		hi = lo
		step *= 2
	}
	// Walk forward while cheap; with many ticks in (lo, t] bisect on whole
	// seconds instead (robfig ticks are whole seconds).
	for i := 0; i < walkLimit; i++ {
		n := s.Next(tick)
		if n.IsZero() || n.After(t) {
			return tick, true
		}
		tick = n
	}
	lo := tick // Next(lo) <= t
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if n := s.Next(mid); !n.IsZero() && !n.After(t) {
			lo = mid
		} else {
			hi = mid
		}
	}
	tick = s.Next(lo)
	// Normally done; the loop only guards against a non-monotonic Next. It
	// ends because every tick is at least a second after the one before.
	for {
		n := s.Next(tick)
		if n.IsZero() || n.After(t) {
			return tick, true
		}
		tick = n
	}
}

// Latest is the newest complete window at now: [the tick before Prev(now),
// Prev(now)), in UTC.
func (s *Schedule) Latest(now time.Time) (Window, error) {
	end, ok := s.Prev(now)
	if !ok {
		return Window{}, fmt.Errorf("schedule %s has no tick in the 5 years up to %s", s, now.UTC().Format(time.RFC3339))
	}
	start, ok := s.Prev(end.Add(-time.Nanosecond))
	if !ok {
		return Window{}, fmt.Errorf("schedule %s has no tick in the 5 years before %s", s, end.UTC().Format(time.RFC3339))
	}
	return Window{Start: start.UTC(), End: end.UTC()}, nil
}

// Due is what a job has to collect now.
type Due struct {
	// Windows are the windows to collect, oldest first, contiguous.
	Windows []Window
	// Missed is the single window [last, start of Windows[0]) that will not
	// be collected because more than the maximum was due; the zero Window
	// when nothing is skipped.
	Missed Window
}

// Due returns the windows to collect at now, oldest first and in UTC, given the
// end of the last window already collected (last; zero when the job never
// ran):
//   - last zero: just Latest(now).
//   - otherwise [last, t1), [t1, t2), ... up to the last tick <= now (none if
//     no tick lies in (last, now]). If last is not itself a tick (the schedule
//     was changed), the first window is [last, first tick after last):
//     contiguity wins over alignment.
//   - if more than max windows are due (max <= 0 means DefaultMaxCatchUp), only
//     the newest max are returned and Missed is the single window
//     [last, start of the first returned window) that will not be collected,
//     so the caller can record it; otherwise Missed is zero.
//   - last after now is an error (the clock went backwards or the store holds
//     a window from the future).
//
// Windows are contiguous (each End is the next Start) and never empty, also
// across daylight saving changes, where they follow the ticks described at
// ParseSchedule: a skipped wall-clock time makes one long window (47h for
// "30 2 * * *" in Europe/Berlin across 2026-03-29), a repeated one a short
// window (1h across 2026-10-25), and @daily windows last 23h or 25h on those
// days.
func (s *Schedule) Due(last, now time.Time, max int) (Due, error) {
	if max <= 0 {
		max = DefaultMaxCatchUp
	}
	if last.IsZero() {
		w, err := s.Latest(now)
		if err != nil {
			return Due{}, err
		}
		return Due{Windows: []Window{w}}, nil
	}
	if last.After(now) {
		return Due{}, fmt.Errorf("last collected window ends at %s, after now (%s): the clock went backwards or the store holds a window from the future",
			last.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}
	// Forward from last: one Next per window, enough unless the job was down
	// for more than max windows.
	ticks := make([]time.Time, 0, max+1)
	for t := last; len(ticks) <= max; {
		n := s.Next(t)
		if n.IsZero() || n.After(now) {
			return windowsFrom(last, ticks), nil
		}
		ticks = append(ticks, n)
		t = n
	}
	// More than max windows are due: collect the newest max+1 ticks back from
	// now, so only max windows are ever computed.
	ticks = ticks[:0]
	tick, ok := s.Prev(now)
	step := time.Minute
	for ok && tick.After(last) && len(ticks) <= max {
		ticks = append(ticks, tick)
		if len(ticks) > 1 {
			step = ticks[len(ticks)-2].Sub(tick) // the last gap is a good first guess
		}
		tick, ok = s.prevHint(tick.Add(-time.Nanosecond), step)
	}
	for i, j := 0, len(ticks)-1; i < j; i, j = i+1, j-1 {
		ticks[i], ticks[j] = ticks[j], ticks[i]
	}
	if len(ticks) <= max {
		// Only if Next and Prev disagree (robfig in an exotic zone).
		return windowsFrom(last, ticks), nil
	}
	d := windowsFrom(ticks[0], ticks[1:])
	d.Missed = Window{Start: last.UTC(), End: ticks[0].UTC()}
	return d, nil
}

// windowsFrom turns start and the ticks after it into contiguous UTC windows.
func windowsFrom(start time.Time, ticks []time.Time) Due {
	if len(ticks) == 0 {
		return Due{}
	}
	ws := make([]Window, len(ticks))
	for i, t := range ticks {
		ws[i] = Window{Start: start.UTC(), End: t.UTC()}
		start = t
	}
	return Due{Windows: ws}
}
