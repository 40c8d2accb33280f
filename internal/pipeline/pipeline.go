// Package pipeline runs one collection end to end: collect the raw facts,
// judge them, and append the signed evidence to the store. A collection that
// fails is itself recorded as signed evidence with status error.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/changeproof/changeproof/collectors"
	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/evidence/controls"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/storage"
)

// writeTimeout bounds writing the evidence of a cancelled collection.
const writeTimeout = 30 * time.Second

// Runner runs collections.
type Runner struct {
	Ledger   *ledger.Ledger
	Catalog  *controls.Catalog
	Producer evidence.Producer
	// Sources names the APIs collectors read from, recorded in evidence.
	Sources map[string]string
	// Storage describes the store the evidence goes to, recorded in it.
	Storage *storage.Description
	Now     func() time.Time
	Logger  *slog.Logger
	// Job names the scheduled job this runner collects for (recorded in
	// the evidence); empty for an ad hoc collection.
	Job string
	// Controls, when not nil, replaces the catalog's controls for the
	// collector (a job's control override).
	Controls []evidence.Control
}

// Outcome is what one run produced.
type Outcome struct {
	// Entry is the evidence written.
	Entry *ledger.Entry
	// Result is the collector's result; nil when the collection failed.
	Result *collectors.Result
	// CollectErr is set when the collection failed or was partial; the
	// evidence (status error) records it.
	CollectErr error
}

// Run collects, judges and appends. It returns an error only when no
// evidence could be written; a failed collection returns an Outcome with
// CollectErr set and its error evidence written.
func (r *Runner) Run(ctx context.Context, c collectors.Collector, req collectors.Request) (*Outcome, error) {
	ctrls := r.Controls
	if ctrls == nil {
		var err error
		if ctrls, err = r.Catalog.For(c.Name()); err != nil {
			return nil, err
		}
	}
	policy, err := json.Marshal(req.Policy)
	if err != nil {
		return nil, fmt.Errorf("encoding policy: %w", err)
	}
	st := &evidence.Statement{Predicate: evidence.Predicate{
		Collector: evidence.CollectorInfo{Name: c.Name(), Version: c.Version()},
		Job:       r.Job,
		Controls:  ctrls,
		Scope:     req.Scope.String(),
		Targets:   []string{},
		Window:    req.Window,
		Findings:  []evidence.Finding{},
		Policy:    policy,
		Producer:  r.Producer,
		Sources:   r.Sources,
		Storage:   r.Storage,
	}}
	if pit, ok := c.(collectors.PointInTime); ok {
		st.Predicate.PointInTime = pit.PointInTime()
	}
	p := &st.Predicate
	log := r.Logger.With("collector", c.Name(), "scope", p.Scope)
	out := &Outcome{}

	// The chain's head is read first: the store must answer before any API
	// budget is spent, and a store lost during the collection no longer
	// stops the evidence from being written (a spooling store takes it).
	// It is read even when ctx is already cancelled, so that a cancelled run
	// is still recorded.
	hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	prev, headAt, err := r.Ledger.Head(hctx, c.Name(), p.Scope, p.Sources)
	hcancel()
	if err != nil {
		return nil, fmt.Errorf("reading the evidence chain before collecting: %w", err)
	}

	res, cerr := collect(ctx, c, req)
	p.CollectedAt = r.Now().UTC()
	if cerr == nil && res != nil {
		out.Result = res
		if res.Targets != nil {
			p.Targets = res.Targets
		}
		if res.Findings != nil {
			p.Findings = res.Findings
		}
		p.RawFacts, err = json.Marshal(res.Facts)
		if err != nil {
			cerr = fmt.Errorf("encoding raw facts: %w", err)
		}
	} else if cerr == nil {
		cerr = fmt.Errorf("collector %s returned no result", c.Name())
	}
	p.Status = evidence.Overall(p.Findings)
	switch {
	case cerr != nil:
		out.CollectErr = cerr
		p.Status, p.Reason = evidence.StatusError, cerr.Error()
		p.RawFacts, _ = json.Marshal(map[string]string{"error": cerr.Error()})
		log.Error("collection failed; recording it as error evidence", "err", cerr)
	case res.Incomplete != "":
		out.CollectErr = fmt.Errorf("collection incomplete: %s", res.Incomplete)
		p.Status, p.Reason = evidence.StatusError, "incomplete: "+res.Incomplete
		log.Warn("collection incomplete; evidence status is error", "reason", res.Incomplete)
	case p.Status == evidence.StatusError:
		// A finding in error is an inconsistency of the collector's own
		// (data it could not obtain is not_verifiable): the evidence says
		// so, as an error must.
		var targets []string
		for _, f := range p.Findings {
			if f.Status == evidence.StatusError {
				targets = append(targets, f.Target)
			}
		}
		what := fmt.Sprintf("%d findings", len(targets))
		if len(targets) == 1 {
			what = "1 finding"
		}
		p.Reason = what + " could not be judged: " + collectors.Named(targets)
		out.CollectErr = errors.New(p.Reason)
		log.Error("findings in error; evidence status is error", "reason", p.Reason)
	}
	p.Counts = evidence.CountByStatus(p.Findings)

	wctx := ctx
	if ctx.Err() != nil {
		// The run was interrupted: still record that, within a bound.
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		defer cancel()
	}
	// Read the head again: another run may have appended meanwhile. Only
	// if the store cannot answer now is the head read before collecting
	// used (the evidence then goes to a spool, if the store has one).
	if p2, at2, herr := r.Ledger.Head(wctx, c.Name(), p.Scope, p.Sources); herr == nil {
		prev, headAt = p2, at2
	} else {
		log.Warn("the store did not answer before writing; linking to the chain head read before collecting", "err", herr)
	}
	entry, err := r.Ledger.AppendAfter(wctx, st, prev, headAt)
	if err != nil {
		if cerr != nil {
			return nil, fmt.Errorf("%w; and its error evidence could not be stored: %v", cerr, err)
		}
		return nil, err
	}
	out.Entry = entry
	log.Info("evidence written", "key", entry.Key, "status", p.Status)
	return out, nil
}

// collect runs the collector, turning a panic into an error so that the
// failed collection is recorded as error evidence like any other failure.
func collect(ctx context.Context, c collectors.Collector, req collectors.Request) (res *collectors.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("collector %s panicked: %v", c.Name(), p)
		}
	}()
	return c.Collect(ctx, req)
}
