// Package evidence defines changeproof's evidence object — an in-toto
// Statement v1 carrying a changeproof predicate, inside a DSSE envelope signed
// with Ed25519 — and signs and verifies it. The schema is documented in
// docs/evidence.md.
package evidence

import (
	"encoding/json"
	"time"

	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
)

const (
	// StatementType is the in-toto Statement v1 type URI.
	StatementType = "https://in-toto.io/Statement/v1"
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// PredicateType identifies changeproof evidence predicates.
	PredicateType = "https://changeproof.dev/evidence/v1"
	// RawFactsMediaType is the content of the raw facts object.
	RawFactsMediaType = "application/json"
)

// Statement is an in-toto Statement v1 with a changeproof predicate.
type Statement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     Predicate `json:"predicate"`
}

// Subject is an in-toto resource descriptor naming a stored object by digest.
type Subject struct {
	Name      string            `json:"name"`
	Digest    map[string]string `json:"digest"`
	MediaType string            `json:"mediaType,omitempty"`
}

// Predicate is what changeproof asserts about one collection.
type Predicate struct {
	Collector CollectorInfo `json:"collector"`
	// Job names the scheduled job (config file) that ran the collection;
	// empty for an ad hoc `changeproof collect`.
	Job      string           `json:"job,omitempty"`
	Controls []Control        `json:"controls"`
	Scope    string           `json:"scope"`
	Targets  []string         `json:"targets"`
	Window   schedules.Window `json:"window"`
	// PointInTime is true when the facts are the state observed at
	// CollectedAt (e.g. branch protection settings), not the history of the
	// window; the window then only names the schedule slot it belongs to.
	PointInTime bool      `json:"pointInTime,omitempty"`
	CollectedAt time.Time `json:"collectedAt"`
	// Sources names the API each source was read from, e.g.
	// {"github": "https://api.github.com/"}, so evidence gathered from a
	// GitHub Enterprise Server or a test double says so.
	Sources map[string]string `json:"sources,omitempty"`
	// Storage says where the evidence was written and what keeps it there
	// unchanged: whether the store is WORM, and the lock (S3 Object Lock
	// mode and retention, or the R2 bucket lock rule) that protects it.
	Storage *storage.Description `json:"storage,omitempty"`
	Status  Status               `json:"status"`
	// Reason explains an error status (the collection failed or was partial).
	Reason   string         `json:"reason,omitempty"`
	Counts   map[Status]int `json:"counts"`
	Findings []Finding      `json:"findings"`
	// Policy is the policy the findings were judged against.
	Policy json.RawMessage `json:"policy,omitempty"`
	// RawFacts are the facts the findings were judged from, byte-for-byte
	// the content of the object the statement's subject names.
	RawFacts json.RawMessage `json:"rawFacts"`
	Previous Previous        `json:"previous"`
	Producer Producer        `json:"producer"`
}

// CollectorInfo names the collector that produced the evidence.
type CollectorInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Control is one control the evidence supports.
type Control struct {
	Framework string `json:"framework"`
	ID        string `json:"id"`
	Title     string `json:"title"`
}

// Producer names the changeproof build that signed the evidence.
type Producer struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Previous links an envelope to the previous envelope of the same collector
// and scope: a hash chain over the store, so a deleted envelope is detected.
// The first envelope of a chain says so with First and no digest.
type Previous struct {
	First  bool   `json:"first,omitempty"`
	Key    string `json:"key,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// Finding is the judgement of one target (a repository branch, a pull
// request, a deployment) against the policy.
type Finding struct {
	// Target identifies what was judged, e.g. "github.com/acme/api@main".
	Target  string `json:"target"`
	Status  Status `json:"status"`
	Summary string `json:"summary"`
	// Verdict is a collector-specific refinement of the status, e.g.
	// "emergency" (a pass) or "pending" (not_verifiable yet) for a change.
	Verdict string `json:"verdict,omitempty"`
	// Details are collector-specific facts about the target that a reader
	// of the finding needs (for a change: number, author, approvers, SHAs);
	// each collector documents their shape in its README.
	Details json.RawMessage `json:"details,omitempty"`
	// Checks are the individual rules, each with its own status.
	Checks []Check `json:"checks,omitempty"`
}

// Check is one rule applied to a target.
type Check struct {
	Rule   string `json:"rule"`
	Status Status `json:"status"`
	// Detail says what was observed.
	Detail string `json:"detail,omitempty"`
	// Fix says how to meet the rule, for a check that did not pass.
	Fix string `json:"fix,omitempty"`
}
