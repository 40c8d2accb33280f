package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/schedules"
)

// RunPredicateType identifies changeproof run records: one per run of a
// scheduled (or manual) job, whatever its outcome, in the same envelope and
// signed with the same key as the evidence. The schema is documented in
// docs/evidence.md ("Run records").
const RunPredicateType = "https://changeproof.dev/run/v1"

// RunStatus is the outcome of one run of a job.
type RunStatus string

const (
	// RunSuccess: the collection completed; its evidence was written
	// (whatever its findings).
	RunSuccess RunStatus = "success"
	// RunError: the collection failed or was partial (error evidence was
	// written if the store took it), or the run panicked.
	RunError RunStatus = "error"
	// RunInterrupted: shutdown abandoned the run; its window is collected
	// again on the next start.
	RunInterrupted RunStatus = "interrupted"
	// RunMissed: the window was not collected because more windows were due
	// than the catch-up limit allows.
	RunMissed RunStatus = "missed"
)

// RunStatuses lists every run status.
var RunStatuses = []RunStatus{RunSuccess, RunError, RunInterrupted, RunMissed}

// Valid reports whether s is one of the run statuses.
func (s RunStatus) Valid() bool { return slices.Contains(RunStatuses, s) }

// What started a run (RunRecord.Trigger).
const (
	// TriggerSchedule: the schedule's tick for the window.
	TriggerSchedule = "schedule"
	// TriggerCatchUp: a window that fell due while the scheduler was not
	// running, collected when it started again.
	TriggerCatchUp = "catch-up"
	// TriggerOnce: a single pass over the due windows, then exit.
	TriggerOnce = "once"
	// TriggerManual: a person asked for the run; its window is not part of
	// the schedule's sequence.
	TriggerManual = "manual"
)

// Triggers lists every trigger.
var Triggers = []string{TriggerSchedule, TriggerCatchUp, TriggerOnce, TriggerManual}

// RunStatement is an in-toto Statement v1 carrying a run record. Its subject
// names the evidence envelopes the run wrote (the store key, and the sha256
// of the envelope file); it is empty when the run wrote none.
type RunStatement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     RunRecord `json:"predicate"`
}

// RunRecord is what changeproof asserts about one run of a job.
type RunRecord struct {
	// Job is the name of the job in the scheduler's config.
	Job       string        `json:"job"`
	Collector CollectorInfo `json:"collector"`
	// Schedule is the job's cron spec; TimeZone the zone it is read in.
	Schedule string `json:"schedule,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
	// Trigger says what started the run: one of Triggers.
	Trigger string `json:"trigger"`
	// Window is the window the run was to collect; for a missed run, the
	// windows that were not collected.
	Window     schedules.Window `json:"window"`
	StartedAt  time.Time        `json:"startedAt"`
	FinishedAt time.Time        `json:"finishedAt"`
	Status     RunStatus        `json:"status"`
	// Error says why the run did not succeed; required unless Status is
	// RunSuccess, absent when it is.
	Error string `json:"error,omitempty"`
	// Evidence lists the envelopes the run wrote, as the subject does, with
	// their status.
	Evidence []RunEvidence `json:"evidence"`
	// Config names the config file that ran the job.
	Config *RunConfig `json:"config,omitempty"`
	// API says what the run asked of GitHub; absent in records written
	// before it was recorded, or when nothing counted the requests.
	API *RunAPI `json:"api,omitempty"`
	// Claim names the claim under which the run collected its window (the
	// store object that made it the window's only collector), and the
	// expired claim of a crashed run it took over; absent in records
	// written before windows were claimed.
	Claim    *RunClaim `json:"claim,omitempty"`
	Producer Producer  `json:"producer"`
	// Previous links the record to the job's previous run record.
	Previous Previous `json:"previous"`
}

// RunEvidence is one evidence envelope a run wrote.
type RunEvidence struct {
	// Key is the envelope's key in the store.
	Key string `json:"key"`
	// SHA256 is the digest of the envelope file.
	SHA256 string `json:"sha256"`
	// Status is the envelope's predicate status.
	Status Status `json:"status"`
}

// RunConfig names the config file of a run: its path and the sha256 of its
// bytes.
type RunConfig struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// RunAPI is what a run asked of the GitHub API, retries included.
type RunAPI struct {
	// Requests is the number of HTTP requests sent, retries included.
	Requests int64 `json:"requests"`
	// Retries is how many of them were retries.
	Retries int64 `json:"retries"`
	// RateLimitWaitSeconds is the wall-clock time during which requests
	// were held for a rate limit (the primary limit's reset, or a secondary
	// limit's Retry-After), overlapping waits counted once.
	RateLimitWaitSeconds float64 `json:"rateLimitWaitSeconds"`
	// NotModified is how many requests were answered 304 Not Modified and
	// served from the conditional-request cache.
	NotModified int64 `json:"notModified"`
}

// RunClaim is the claim on a job window a run held (docs/evidence.md,
// "Claims").
type RunClaim struct {
	// Key is the claim's key in the store: claims/<job>/<window>/<generation>.json.
	Key string `json:"key"`
	// TakenOverFrom is the expired claim of an earlier run of the window
	// that never recorded it (it crashed or was killed); absent otherwise.
	TakenOverFrom *ClaimTakeover `json:"takenOverFrom,omitempty"`
}

// ClaimTakeover is an expired claim a run took the window over from.
type ClaimTakeover struct {
	// Key is the expired claim's key in the store.
	Key string `json:"key"`
	// Holder is who held it: host/pid/run id, as the claim says.
	Holder string `json:"holder"`
	// ExpiredAt is when it expired; for a claim of a dead process of the
	// same host and host lock, taken over before its expiry, the moment
	// of the takeover.
	ExpiredAt time.Time `json:"expiredAt"`
}

// checkClaim checks a run record's claim: a key under claims/<job>/, and
// a takeover naming another claim of the same job, its holder and when it
// expired.
func checkClaim(job string, c *RunClaim) error {
	if c == nil {
		return nil
	}
	prefix := "claims/" + job + "/"
	if !strings.HasPrefix(c.Key, prefix) || len(c.Key) == len(prefix) {
		return fmt.Errorf("predicate.claim.key %q is not a claim of job %s (%s...)", c.Key, job, prefix)
	}
	if o := c.TakenOverFrom; o != nil {
		switch {
		case !strings.HasPrefix(o.Key, prefix) || o.Key == c.Key:
			return fmt.Errorf("predicate.claim.takenOverFrom.key %q is not another claim of job %s", o.Key, job)
		case o.Holder == "":
			return errors.New("predicate.claim.takenOverFrom.holder is empty")
		case o.ExpiredAt.IsZero():
			return errors.New("predicate.claim.takenOverFrom.expiredAt is required")
		}
	}
	return nil
}

// VerifiedRun is a run record whose signature and statement checked out.
type VerifiedRun struct {
	Statement RunStatement
	// KeyID is the id of the trusted key whose signature was accepted.
	KeyID string
}

// RunSubject is the subject of a run statement whose run wrote evs: each
// envelope by key and sha256, in the same order; empty, not nil, for none.
func RunSubject(evs []RunEvidence) []Subject {
	out := make([]Subject, 0, len(evs))
	for _, e := range evs {
		out = append(out, Subject{Name: e.Key, Digest: map[string]string{"sha256": e.SHA256}})
	}
	return out
}

// SignRun signs a run statement into an envelope as stored. It refuses a
// statement VerifyRun would reject. A nil subject or evidence list is
// written as an empty one.
func (s *Signer) SignRun(ctx context.Context, st *RunStatement) ([]byte, error) {
	c := *st
	if c.Subject == nil {
		c.Subject = []Subject{}
	}
	if c.Predicate.Evidence == nil {
		c.Predicate.Evidence = []RunEvidence{}
	}
	if c.Type != StatementType || c.PredicateType != RunPredicateType {
		return nil, fmt.Errorf("run record of job %q: statement types %q, %q, want %q, %q", c.Predicate.Job, c.Type, c.PredicateType, StatementType, RunPredicateType)
	}
	if err := checkRun(&c); err != nil {
		return nil, fmt.Errorf("run record of job %q: %w", c.Predicate.Job, err)
	}
	payload, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encoding run record of job %q: %w", c.Predicate.Job, err)
	}
	return s.signPayload(ctx, payload)
}

// VerifyRun checks a run record as stored: the envelope as Verify checks it
// (canonical bytes, one signature by a trusted key), the statement and
// predicate types, a payload that is exactly what SignRun writes (no unknown,
// duplicated or re-cased field), and the record itself: a subject that names
// the same envelopes as predicate.evidence in the same order, a known status
// and trigger, error text if and only if the run did not succeed, a valid
// window, finishedAt not before startedAt, and a previous link. It does not
// check that the evidence exists in a store: callers with a store do.
func (v *Verifier) VerifyRun(ctx context.Context, envelope []byte) (*VerifiedRun, error) {
	payload, keyID, err := v.open(ctx, envelope)
	if err != nil {
		return nil, err
	}
	if err := checkTypes(payload, RunPredicateType); err != nil {
		return nil, err
	}
	var st RunStatement
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("run statement: %w", err)
	}
	again, err := json.Marshal(&st)
	if err != nil || !bytes.Equal(again, payload) {
		return nil, errors.New("not a canonical run statement: its payload differs from what changeproof writes (reordered, duplicated, re-cased or re-spaced fields)")
	}
	if err := checkRun(&st); err != nil {
		return nil, err
	}
	return &VerifiedRun{Statement: st, KeyID: keyID}, nil
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkRun checks what a run statement says about itself.
func checkRun(st *RunStatement) error {
	p := &st.Predicate
	if st.Subject == nil || p.Evidence == nil {
		return errors.New("subject and predicate.evidence must be lists (empty when the run wrote no evidence)")
	}
	switch {
	case p.Job == "":
		return errors.New("predicate.job is empty")
	case p.Collector.Name == "":
		return errors.New("predicate.collector.name is empty")
	case !slices.Contains(Triggers, p.Trigger):
		return fmt.Errorf("predicate.trigger %q is not one of %q", p.Trigger, Triggers)
	case !p.Status.Valid():
		return fmt.Errorf("predicate.status %q is not one of %q", p.Status, RunStatuses)
	case p.Status == RunSuccess && p.Error != "":
		return errors.New("predicate.status is success but predicate.error gives an error")
	case p.Status != RunSuccess && p.Error == "":
		return fmt.Errorf("predicate.status is %s but predicate.error does not say why", p.Status)
	case p.StartedAt.IsZero() || p.FinishedAt.IsZero():
		return errors.New("predicate.startedAt and predicate.finishedAt are required")
	case p.FinishedAt.Before(p.StartedAt):
		return fmt.Errorf("predicate.finishedAt %s is before predicate.startedAt %s", p.FinishedAt.Format(time.RFC3339Nano), p.StartedAt.Format(time.RFC3339Nano))
	case p.Config != nil && (p.Config.Path == "" || !sha256Hex.MatchString(p.Config.SHA256)):
		return errors.New("predicate.config needs a path and the lowercase hex sha256 of the file")
	case p.API != nil && (p.API.Requests < 0 || p.API.Retries < 0 || p.API.NotModified < 0 || p.API.RateLimitWaitSeconds < 0 ||
		p.API.Retries > p.API.Requests || p.API.NotModified > p.API.Requests):
		return fmt.Errorf("predicate.api %+v: counts must be non-negative, retries and notModified at most requests", *p.API)
	}
	if err := p.Window.Validate(); err != nil {
		return fmt.Errorf("predicate.window: %w", err)
	}
	if err := checkClaim(p.Job, p.Claim); err != nil {
		return err
	}
	if err := checkPrevious(p.Previous); err != nil {
		return err
	}
	if err := checkRunEvidence(p.Status, p.Evidence); err != nil {
		return err
	}
	if len(st.Subject) != len(p.Evidence) {
		return fmt.Errorf("subject names %d object(s) but predicate.evidence lists %d envelope(s)", len(st.Subject), len(p.Evidence))
	}
	for i, sub := range st.Subject {
		e := p.Evidence[i]
		if sub.Name != e.Key || len(sub.Digest) != 1 || sub.Digest["sha256"] != e.SHA256 || sub.MediaType != "" {
			return fmt.Errorf("subject %d (%s) differs from predicate.evidence %d (%s, sha256 %s)", i, sub.Name, i, e.Key, e.SHA256)
		}
	}
	return nil
}

// checkRunEvidence checks the envelopes a run lists against its status: a
// successful run wrote evidence, none of it an error; a missed run wrote
// none.
func checkRunEvidence(status RunStatus, evs []RunEvidence) error {
	seen := make(map[string]bool, len(evs))
	for i, e := range evs {
		switch {
		case e.Key == "":
			return fmt.Errorf("predicate.evidence %d has no key", i)
		case seen[e.Key]:
			return fmt.Errorf("predicate.evidence lists %s twice", e.Key)
		case !sha256Hex.MatchString(e.SHA256):
			return fmt.Errorf("predicate.evidence %s: sha256 %q is not lowercase hex sha256", e.Key, e.SHA256)
		case !e.Status.Valid():
			return fmt.Errorf("predicate.evidence %s: status %q is not a known status", e.Key, e.Status)
		case status == RunSuccess && e.Status == StatusError:
			return fmt.Errorf("predicate.status is success but evidence %s has status error (a failed or partial collection)", e.Key)
		}
		seen[e.Key] = true
	}
	switch {
	case status == RunSuccess && len(evs) == 0:
		return errors.New("predicate.status is success but predicate.evidence is empty: a successful run writes its evidence")
	case status == RunMissed && len(evs) > 0:
		return errors.New("predicate.status is missed but predicate.evidence lists envelopes: a missed window was not collected")
	}
	return nil
}
