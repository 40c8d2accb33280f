package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/changeproof/changeproof/evidence"
)

// RunEntry is one run record in the store.
type RunEntry struct {
	Key       string
	SHA256    string
	Statement evidence.RunStatement
}

// RunHead returns the link to the newest run record of job that verifies
// with the ledger's own key, and when that run finished; or
// Previous{First: true} when the job has none yet. Records that do not
// verify (planted, damaged) are passed over: verify reports them.
func (l *Ledger) RunHead(ctx context.Context, job string) (evidence.Previous, time.Time, error) {
	prev, at := evidence.Previous{First: true}, time.Time{}
	err := l.runRecords(ctx, job, true, func(e *RunEntry) bool {
		prev, at = evidence.Previous{Key: e.Key, SHA256: e.SHA256}, e.Statement.Predicate.FinishedAt
		return false
	})
	if err != nil {
		return evidence.Previous{}, time.Time{}, err
	}
	return prev, at, nil
}

// AppendRun links rec to the newest verifying run record of rec.Job (or
// starts the job's chain), sets the statement's subject from rec.Evidence,
// signs it, and writes the public key (unless the store holds it) and then
// the run record, create-only. It refuses a job name that is not a valid key
// segment and a FinishedAt not after the head's (the clock went backwards).
func (l *Ledger) AppendRun(ctx context.Context, rec *evidence.RunRecord) (*RunEntry, error) {
	prev, headAt, err := l.RunHead(ctx, rec.Job)
	if err != nil {
		return nil, err
	}
	return l.AppendRunAfter(ctx, rec, prev, headAt)
}

// AppendRunAfter is AppendRun onto a head read earlier with RunHead (prev,
// and the time headAt that run finished): a scheduler reads the head before
// a run, so that a store lost during the run does not lose its record (a
// spooling store then takes it). rec.Previous is set to prev.
func (l *Ledger) AppendRunAfter(ctx context.Context, rec *evidence.RunRecord, prev evidence.Previous, headAt time.Time) (*RunEntry, error) {
	if err := CheckJob(rec.Job); err != nil {
		return nil, fmt.Errorf("appending a run record: %w", err)
	}
	if !headAt.IsZero() && !rec.FinishedAt.After(headAt) {
		return nil, fmt.Errorf("the newest run record of job %s (%s) finished at %s, not before this run (%s): the clock went backwards; refusing to break the chain's order",
			rec.Job, prev.Key, headAt.Format(time.RFC3339Nano), rec.FinishedAt.Format(time.RFC3339Nano))
	}
	rec.Previous = prev
	if rec.Evidence == nil {
		rec.Evidence = []evidence.RunEvidence{} // as SignRun writes it
	}
	st := &evidence.RunStatement{
		Type:          evidence.StatementType,
		Subject:       evidence.RunSubject(rec.Evidence),
		PredicateType: evidence.RunPredicateType,
		Predicate:     *rec,
	}
	envelope, err := l.Signer.SignRun(ctx, st)
	if err != nil {
		return nil, err
	}
	digest := evidence.Digest(envelope)
	key, err := RunKey(rec.Job, rec.FinishedAt, digest)
	if err != nil {
		return nil, err
	}
	if err := l.putPublicKey(ctx); err != nil {
		return nil, err
	}
	if err := l.Store.Put(ctx, key, envelope); err != nil {
		return nil, fmt.Errorf("writing the run record of job %s: %w", rec.Job, err)
	}
	return &RunEntry{Key: key, SHA256: digest, Statement: *st}, nil
}

// LastWindowEnd is the end of the newest window of job's scheduled runs:
// the Window.End of the newest run record (by key) that verifies with the
// ledger's key, passing over manual runs (not part of the schedule) and
// interrupted ones (their window is collected again). A missed or failed
// run counts: its window was dealt with, and its record says how. It
// returns the zero time when there is none.
func (l *Ledger) LastWindowEnd(ctx context.Context, job string) (time.Time, error) {
	var end time.Time
	err := l.runRecords(ctx, job, true, func(e *RunEntry) bool {
		p := e.Statement.Predicate
		if p.Trigger == evidence.TriggerManual || p.Status == evidence.RunInterrupted {
			return true
		}
		end = p.Window.End
		return false
	})
	if err != nil {
		return time.Time{}, err
	}
	return end, nil
}

// Runs lists job's run records that verify with the ledger's key, oldest
// first. Records that do not verify are left out (verify reports them).
func (l *Ledger) Runs(ctx context.Context, job string) ([]RunEntry, error) {
	var out []RunEntry
	err := l.runRecords(ctx, job, false, func(e *RunEntry) bool {
		out = append(out, *e)
		return true
	})
	return out, err
}

// runRecords passes job's run records that verify with the ledger's key to
// visit, oldest or newest first, until visit returns false.
func (l *Ledger) runRecords(ctx context.Context, job string, newestFirst bool, visit func(*RunEntry) bool) error {
	if err := CheckJob(job); err != nil {
		return fmt.Errorf("run records: %w", err)
	}
	v, err := l.verifier()
	if err != nil {
		return err
	}
	isRun := func(key string) bool { _, err := ParseRunKey(key); return err == nil }
	var seen, verified int
	var firstErr error
	err = l.walk(ctx, RunPrefix(job), isRun, newestFirst, func(key string, data []byte) bool {
		pk, _ := ParseRunKey(key)
		if checkNamedDigest(evidence.Digest(data), pk.Digest) != nil {
			return true // not even what its name says: never a record of ours
		}
		seen++
		e, err := checkRunRecord(ctx, v, pk, data)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", key, err)
			}
			return true
		}
		verified++
		e.Key = key
		return visit(e)
	})
	if err != nil {
		return err
	}
	if seen > 0 && verified == 0 {
		// Carrying on would start a second chain and forget which windows
		// were collected: a rotated or wrong signing key, or tampering.
		return fmt.Errorf("%w: job %s has %d run record(s) but none verifies with signing key %s (first: %v); if the signing key was changed, run the job under a new name or with the old key; if changeproof did not write them, the store was tampered with (`changeproof verify` names each)",
			ErrUnverifiableRuns, job, seen, l.Signer.KeyID(), firstErr)
	}
	return nil
}

// ErrUnverifiableRuns: a job's run records exist, but none verifies with
// the ledger's key.
var ErrUnverifiableRuns = errors.New("no run record verifies")

// walk reads the objects under prefix whose keys want accepts, in key
// order (newest first when newestFirst), and passes each key and content to
// visit until it returns false.
func (l *Ledger) walk(ctx context.Context, prefix string, want func(key string) bool, newestFirst bool, visit func(key string, data []byte) bool) error {
	var keys []string
	for obj, err := range l.Store.List(ctx, prefix) {
		if err != nil {
			return fmt.Errorf("listing %s: %w", prefix, err)
		}
		if want(obj.Key) {
			keys = append(keys, obj.Key)
		}
	}
	if newestFirst {
		slices.Reverse(keys)
	}
	for _, key := range keys {
		data, err := l.Store.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("reading %s: %w", key, err)
		}
		if !visit(key, data) {
			return nil
		}
	}
	return nil
}

// checkRunRecord checks a stored run record against its parsed key: the
// digest the key gives, the signature and statement (VerifyRun), and the
// job and finishing time the key gives. The entry's Key is left empty.
func checkRunRecord(ctx context.Context, v *evidence.Verifier, pk ParsedRunKey, data []byte) (*RunEntry, error) {
	digest := evidence.Digest(data)
	if err := checkNamedDigest(digest, pk.Digest); err != nil {
		return nil, err
	}
	ver, err := v.VerifyRun(ctx, data)
	if err != nil {
		return nil, err
	}
	p := ver.Statement.Predicate
	switch {
	case p.Job != pk.Job:
		return nil, fmt.Errorf("stored under job %q but the record says %q", pk.Job, p.Job)
	case !p.FinishedAt.Equal(pk.FinishedAt):
		return nil, fmt.Errorf("stored as finished at %s but the record says %s", pk.FinishedAt.Format(time.RFC3339Nano), p.FinishedAt.Format(time.RFC3339Nano))
	}
	return &RunEntry{SHA256: digest, Statement: ver.Statement}, nil
}
