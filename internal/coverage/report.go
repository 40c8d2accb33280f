// Package coverage says, for a period, which windows each scheduled job
// was expected to collect, which of them verified evidence covers, with
// what outcome, and where the gaps are. `changeproof coverage`, `serve`
// (/api/v1/coverage, the coverage page, /metrics) and the auditor's bundle
// (report.html) all show the same Report.
//
// The JSON form of Report is a stable interface read by dashboards: it is
// documented in docs/coverage.md, versioned by SchemaVersion, and fields are
// only ever added.
package coverage

import (
	"time"

	"github.com/changeproof/changeproof/evidence"
)

// SchemaVersion identifies the JSON schema of Report.
const SchemaVersion = "https://changeproof.dev/coverage/v1"

// WindowStatus is the state of one expected window of a job.
type WindowStatus string

// Window statuses. The first four are covered windows: verified evidence
// of a successful run, with the evidence's overall status. The others are
// gaps.
const (
	// WindowPass .. WindowError: covered by verified evidence of that
	// overall status (evidence.Status); a window whose run wrote several
	// envelopes takes the worst.
	WindowPass          WindowStatus = "pass"
	WindowFail          WindowStatus = "fail"
	WindowNotVerifiable WindowStatus = "not_verifiable"
	WindowError         WindowStatus = "error"
	// WindowMissed: a signed run record says the window was not collected
	// (more windows were due than the catch-up limit allowed).
	WindowMissed WindowStatus = "missed"
	// WindowFailed: the run failed (run status error or interrupted, with
	// no later run covering the window).
	WindowFailed WindowStatus = "failed"
	// WindowMissing: no run record accounts for the window at all.
	WindowMissing WindowStatus = "missing"
	// WindowUnverifiable: a run record claims the window but it, or the
	// evidence it names, does not verify (bad signature, modified or
	// missing file, broken chain).
	WindowUnverifiable WindowStatus = "unverifiable"
)

// WindowStatuses lists every window status, covered ones first.
var WindowStatuses = []WindowStatus{WindowPass, WindowFail, WindowNotVerifiable, WindowError,
	WindowMissed, WindowFailed, WindowMissing, WindowUnverifiable}

// Covered reports whether the status is one of verified evidence.
func (s WindowStatus) Covered() bool {
	switch s {
	case WindowPass, WindowFail, WindowNotVerifiable, WindowError:
		return true
	}
	return false
}

// Period is the half-open interval [From, To) a report covers.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Report is the coverage of a store over a period.
type Report struct {
	// SchemaVersion is SchemaVersion.
	SchemaVersion string `json:"schemaVersion"`
	// Store is the store's URL (no credentials).
	Store string `json:"store"`
	// Period is what was asked for; windows are expected when they overlap
	// it and ended before GeneratedAt.
	Period Period `json:"period"`
	// GeneratedAt is the clock reading the report was computed at.
	GeneratedAt time.Time `json:"generatedAt"`
	// Controls has one entry per control any job maps to, in catalog order.
	Controls []Control `json:"controls"`
	// Jobs has one entry per job, in config order.
	Jobs []Job `json:"jobs"`
	// Exceptions lists every finding of covered windows' evidence that is
	// not pass, with its reason: what an auditor reads first.
	Exceptions []Exception `json:"exceptions"`
	// Problems are verification problems found in the store (any key, in
	// or out of the period) that affect the report.
	Problems []Problem `json:"problems"`
}

// Control is the coverage of one control over the period.
type Control struct {
	Framework string `json:"framework"`
	ID        string `json:"id"`
	Title     string `json:"title"`
	// Jobs are the names of the jobs whose evidence supports the control.
	Jobs []string `json:"jobs"`
	// Expected, Covered and Ratio sum the control's jobs.
	Expected int `json:"expected"`
	Covered  int `json:"covered"`
	// Ratio is Covered/Expected, 1 when nothing was expected.
	Ratio float64 `json:"ratio"`
	// Status is the worst (evidence.Worse) of the statuses of the
	// control's covered windows and, when any expected window is a gap,
	// not_verifiable; "" when no window was expected. It is pass only when
	// every window is covered and passed.
	Status evidence.Status `json:"status,omitempty"`
	// Counts counts the control's windows by status; every WindowStatus
	// key is present.
	Counts map[WindowStatus]int `json:"counts"`
}

// Job is the coverage of one job over the period.
type Job struct {
	Name      string `json:"name"`
	Collector string `json:"collector"`
	Schedule  string `json:"schedule"`
	TimeZone  string `json:"timeZone"`
	// Controls are the control ids the job's evidence is mapped to.
	Controls []string `json:"controls"`
	Expected int      `json:"expected"`
	Covered  int      `json:"covered"`
	Ratio    float64  `json:"ratio"`
	// Status is the job's status over the period, as Control.Status: the
	// worst status of its covered windows, at least not_verifiable when a
	// window is a gap, "" when no window was expected.
	Status evidence.Status `json:"status,omitempty"`
	// Counts counts Windows by status; every WindowStatus key is present.
	Counts map[WindowStatus]int `json:"counts"`
	// Windows are the expected windows, oldest first.
	Windows []Window `json:"windows"`
	// Gaps are the runs of consecutive windows that are not covered,
	// merged, oldest first.
	Gaps []Gap `json:"gaps"`
	// Freshness says how recent the job's newest covered window is.
	Freshness Freshness `json:"freshness"`
}

// Window is one expected window and what accounts for it.
type Window struct {
	Start  time.Time    `json:"start"`
	End    time.Time    `json:"end"`
	Status WindowStatus `json:"status"`
	// Run is the key of the run record that accounts for the window, if
	// any; Evidence the keys of the envelopes that cover it.
	Run      string   `json:"run,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
	// Reason explains a window that is not covered.
	Reason string `json:"reason,omitempty"`
}

// Gap is a stretch of consecutive uncovered windows of the same status.
type Gap struct {
	Start   time.Time    `json:"start"`
	End     time.Time    `json:"end"`
	Status  WindowStatus `json:"status"`
	Windows int          `json:"windows"`
	Reason  string       `json:"reason"`
}

// Freshness is how recent a job's evidence is at GeneratedAt.
type Freshness struct {
	// LastCoveredEnd is the end of the newest covered window (any period),
	// zero when none.
	LastCoveredEnd time.Time `json:"lastCoveredEnd,omitzero"`
	// AgeSeconds is GeneratedAt - LastCoveredEnd, -1 when none.
	AgeSeconds int64 `json:"ageSeconds"`
	// Stale is true when a window that ended before GeneratedAt is newer
	// than LastCoveredEnd: the job is behind its schedule.
	Stale bool `json:"stale"`
}

// Exception is one finding that is not pass, in a covered window.
type Exception struct {
	Job      string          `json:"job"`
	Controls []string        `json:"controls"`
	Window   Period          `json:"window"`
	Evidence string          `json:"evidence"`
	Target   string          `json:"target"`
	Status   evidence.Status `json:"status"`
	Verdict  string          `json:"verdict,omitempty"`
	Summary  string          `json:"summary"`
}

// Problem is a verification problem: the key and what is wrong with it.
type Problem struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}
