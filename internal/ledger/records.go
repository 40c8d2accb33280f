package ledger

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/storage"
)

// CheckedRun is one stored run record of a job and what verifying it found,
// with the same checks and messages as Verify.
type CheckedRun struct {
	// Key is the record's key in the store; SHA256 the digest of the file
	// as stored.
	Key    string
	SHA256 string
	// Statement is the record's verified statement: nil when the record
	// itself does not verify (name, signature, statement).
	Statement *evidence.RunStatement
	// Claimed is what a record that does not verify itself says, read
	// WITHOUT checking its signature, so a caller can tell which window it
	// claims; nil when the record verifies or cannot be read at all. Never
	// trust it: it is for naming what is wrong.
	Claimed *evidence.RunStatement
	// Evidence holds the verified statement of each envelope the record
	// names that is stored with the digest the record gives and passes its
	// own checks (signature, statement, raw facts), by key.
	Evidence map[string]*evidence.Statement
	// Problems is everything wrong with the record: its own checks, the
	// evidence it names, and its link in the job's run chain (missing or
	// modified predecessor, a second start, a fork). None means the record,
	// its evidence and its chain link all verify.
	Problems []Problem
}

// OK reports whether the record, the evidence it names and its chain link
// all verify.
func (c *CheckedRun) OK() bool { return c.Statement != nil && len(c.Problems) == 0 }

// CheckRunsWithin checks every object under job's run prefix, oldest first: each
// run record as Verify does (its name's digest, signature and statement,
// every evidence envelope it names stored with the digest it gives and
// passing its own checks including raw facts) and the job's run chain
// (one start, every previous link present and unmodified, no forks). Unlike
// Verify it gives the result per record, so that coverage can tell which
// windows verified records account for. It does not check that scheduled
// windows join: a gap there is a missing window, which coverage reports as
// such. It returns an error only when the store cannot be listed.
//
// Over part of a store (an auditor's bundle), a previous link to an object
// of boundary (key → sha256), outside the part, does not break the chain
// (VerifyOptions.Boundary); nil for a whole store.
func CheckRunsWithin(ctx context.Context, st storage.Store, v *evidence.Verifier, job string, boundary map[string]string) ([]CheckedRun, error) {
	if err := CheckJob(job); err != nil {
		return nil, fmt.Errorf("checking run records: %w", err)
	}
	var keys []string
	for obj, err := range st.List(ctx, RunPrefix(job)) {
		if err != nil {
			return nil, err // the store names the prefix
		}
		keys = append(keys, obj.Key)
	}
	out := make([]CheckedRun, 0, len(keys))
	byKey := make(map[string]int, len(keys))
	var links []link
	stored := map[string]string{}
	// Envelopes already checked, in case several records name one.
	type evResult struct {
		st       *evidence.Statement
		problems []Problem
	}
	checked := map[string]evResult{}
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rep := &Report{}
		l, _ := verifyRun(ctx, st, v, key, rep, stored)
		c := CheckedRun{Key: key, Problems: rep.Problems}
		if l.run == nil {
			c.Claimed = claimedRun(ctx, st, key)
			out = append(out, c)
			continue
		}
		c.Statement, c.SHA256 = l.run, l.digest
		c.Evidence = make(map[string]*evidence.Statement, len(l.run.Predicate.Evidence))
		if len(c.Problems) == 0 {
			// Every envelope is stored with the digest the record gives:
			// now each one's own checks.
			for _, ev := range l.run.Predicate.Evidence {
				r, done := checked[ev.Key]
				if !done {
					erep := &Report{}
					el, ok := verifyOne(ctx, st, v, ev.Key, erep, stored)
					if ok {
						r.st = el.ev
					}
					r.problems = erep.Problems
					checked[ev.Key] = r
				}
				c.Problems = append(c.Problems, r.problems...)
				if r.st != nil {
					c.Evidence[ev.Key] = r.st
				}
			}
		}
		byKey[key] = len(out)
		links = append(links, l)
		out = append(out, c)
	}
	if len(links) > 0 {
		rep := &Report{}
		verifyChain(ctx, st, links, "run record", "run chain of job "+job, boundary, rep)
		for _, p := range rep.Problems {
			if i, ok := byKey[p.Key]; ok {
				out[i].Problems = append(out[i].Problems, p)
			}
		}
	}
	return out, nil
}

// claimedRun reads a run record's statement without checking anything, or
// returns nil.
func claimedRun(ctx context.Context, st storage.Store, key string) *evidence.RunStatement {
	data, err := st.Get(ctx, key)
	if err != nil {
		return nil
	}
	var env dsse.Envelope
	if json.Unmarshal(data, &env) != nil {
		return nil
	}
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return nil
	}
	var rs evidence.RunStatement
	if json.Unmarshal(payload, &rs) != nil || rs.PredicateType != evidence.RunPredicateType {
		return nil
	}
	if rs.Predicate.Window.Validate() != nil {
		return nil
	}
	return &rs
}
