package evidence

import "fmt"

// Status is the outcome of a check, a finding or a whole collection.
type Status string

const (
	// StatusPass: the rule was checked and met.
	StatusPass Status = "pass"
	// StatusFail: the rule was checked and not met.
	StatusFail Status = "fail"
	// StatusNotVerifiable: the rule could not be checked (for example the
	// token may not read a setting). Never reported as pass.
	StatusNotVerifiable Status = "not_verifiable"
	// StatusError: the collection failed or was partial.
	StatusError Status = "error"
)

// Statuses lists every status, in increasing severity.
var Statuses = []Status{StatusPass, StatusNotVerifiable, StatusFail, StatusError}

func (s Status) severity() int {
	for i, v := range Statuses {
		if v == s {
			return i
		}
	}
	return len(Statuses) // unknown statuses rank worst
}

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool { return s.severity() < len(Statuses) }

// Worse returns the more severe of two statuses: error > fail >
// not_verifiable > pass.
func Worse(a, b Status) Status {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// Overall is the status of a set of findings: the worst of them, or
// not_verifiable when there are none (nothing checked is not a pass).
func Overall(findings []Finding) Status {
	if len(findings) == 0 {
		return StatusNotVerifiable
	}
	s := StatusPass
	for _, f := range findings {
		s = Worse(s, f.Status)
	}
	return s
}

// CountByStatus counts findings per status; every status is present.
func CountByStatus(findings []Finding) map[Status]int {
	m := make(map[Status]int, len(Statuses))
	for _, s := range Statuses {
		m[s] = 0
	}
	for _, f := range findings {
		m[f.Status]++
	}
	return m
}

// ParseStatus parses a status name.
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if !st.Valid() {
		return "", fmt.Errorf("unknown status %q (want pass, fail, not_verifiable or error)", s)
	}
	return st, nil
}
