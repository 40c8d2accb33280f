package ledger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/storage"
)

// Problem is one thing wrong with stored evidence.
type Problem struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

func (p Problem) String() string { return p.Key + ": " + p.Reason }

// Report is the outcome of verifying a store.
type Report struct {
	// Envelopes is how many evidence envelopes were examined.
	Envelopes int `json:"envelopes"`
	// Verified is how many passed every check of their own (signature,
	// digests, raw facts); chain problems are counted separately.
	Verified int `json:"verified"`
	// Chains is the number of collector/scope chains seen.
	Chains int `json:"chains"`
	// Heads lists each chain with its newest verified envelope, so an
	// auditor can note them and later check nothing after them vanished.
	Heads []ChainHead `json:"heads"`
	// Runs is how many run records were examined.
	Runs int `json:"runs"`
	// RunsVerified is how many passed every check of their own (signature,
	// digest, the evidence they name); chain problems are counted
	// separately.
	RunsVerified int `json:"runsVerified"`
	// RunChains is the number of jobs whose run records were seen.
	RunChains int `json:"runChains"`
	// RunHeads lists each job's run chain with its newest run record.
	RunHeads []RunHead `json:"runHeads"`
	// ChainsChecked is false when chains were not checked (single file).
	ChainsChecked bool      `json:"chainsChecked"`
	Problems      []Problem `json:"problems"`
}

// ChainHead describes one chain.
type ChainHead struct {
	Collector   string            `json:"collector"`
	Scope       string            `json:"scope"`
	Sources     map[string]string `json:"sources,omitempty"`
	Envelopes   int               `json:"envelopes"`
	Head        string            `json:"head"`
	HeadSHA256  string            `json:"headSha256"`
	CollectedAt time.Time         `json:"collectedAt"`
}

// RunHead describes one job's chain of run records.
type RunHead struct {
	Job     string `json:"job"`
	Records int    `json:"records"`
	// Statuses counts the job's records by status: error and missed
	// windows were not collected.
	Statuses   map[evidence.RunStatus]int `json:"statuses"`
	Head       string                     `json:"head"`
	HeadSHA256 string                     `json:"headSha256"`
	FinishedAt time.Time                  `json:"finishedAt"`
}

// OK reports whether nothing was wrong and something was verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 && (r.Envelopes > 0 || r.Runs > 0) }

func (r *Report) add(key, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Key: key, Reason: fmt.Sprintf(format, args...)})
}

// VerifyOptions select what Verify checks.
type VerifyOptions struct {
	// Prefix limits verification to keys under it. Empty: every evidence
	// envelope (evidence/) and every run record (runs/). A prefix under
	// runs/ verifies run records only; any other prefix, evidence only.
	Prefix string
	// SkipChains verifies envelopes one by one, without their chains (for a
	// single file taken out of a store).
	SkipChains bool
	// Boundary names objects outside the verified set (key → sha256) that
	// a previous link may name without breaking its chain: a bundle holds
	// only a period of a store, and its signed manifest lists the links
	// just outside it.
	Boundary map[string]string
}

// link is one object of a hash chain: an evidence envelope or a run record.
type link struct {
	key    string
	digest string
	prev   evidence.Previous
	ev     *evidence.Statement    // set for an evidence envelope
	run    *evidence.RunStatement // set for a run record
}

// chains groups links by chain, in the order the chains were first seen.
type chains struct {
	order []string
	links map[string][]link
}

func (c *chains) add(id string, l link) {
	if c.links == nil {
		c.links = map[string][]link{}
	}
	if _, seen := c.links[id]; !seen {
		c.order = append(c.order, id)
	}
	c.links[id] = append(c.links[id], l)
}

// sorted yields each chain's links in key (time) order.
func (c *chains) sorted() [][]link {
	out := make([][]link, 0, len(c.order))
	for _, id := range c.order {
		links := c.links[id]
		slices.SortFunc(links, func(a, b link) int { return strings.Compare(a.key, b.key) })
		out = append(out, links)
	}
	return out
}

// Verify checks every evidence envelope and run record under the prefix.
// An envelope: its name's digest against its content, its signature by a
// trusted key, its statement, its raw facts object. A run record: its name's
// digest, its signature and statement, and that every evidence envelope it
// names is stored with the digest it gives. Unless SkipChains, each
// collector/scope chain and each job's run chain must be unbroken: one
// start, every previous link present and unmodified, no forks.
// It returns an error only when the store cannot be read at all.
func Verify(ctx context.Context, st storage.Store, v *evidence.Verifier, opts VerifyOptions) (*Report, error) {
	rep := &Report{ChainsChecked: !opts.SkipChains}
	runsOnly := strings.HasPrefix(opts.Prefix, RunsPrefix)
	// The digests of the envelopes read, so run records need not read them
	// again.
	stored := map[string]string{}
	if !runsOnly {
		prefix := cmp.Or(opts.Prefix, EvidencePrefix)
		if err := verifyEvidence(ctx, st, v, prefix, opts, rep, stored); err != nil {
			return nil, err
		}
		if rep.Envelopes == 0 {
			rep.add(prefix, "no evidence envelopes found")
		}
	}
	if opts.Prefix == "" || runsOnly {
		prefix := cmp.Or(opts.Prefix, RunsPrefix)
		if err := verifyRuns(ctx, st, v, prefix, opts, rep, stored); err != nil {
			return nil, err
		}
		if runsOnly && rep.Runs == 0 {
			rep.add(prefix, "no run records found")
		}
	}
	return rep, nil
}

// gather checks every object under prefix with check, counting them in
// *seen and those that passed every check in *passed, and groups the links
// check returns with a chain id by chain.
func gather(ctx context.Context, st storage.Store, prefix string, seen, passed *int, check func(key string) (l link, chain string, ok bool)) (*chains, error) {
	cs := &chains{}
	for obj, err := range st.List(ctx, prefix) {
		if err != nil {
			return nil, err // the store names the prefix
		}
		*seen++
		l, chain, ok := check(obj.Key)
		if ok {
			*passed++
		}
		if chain != "" {
			cs.add(chain, l)
		}
	}
	return cs, nil
}

func verifyEvidence(ctx context.Context, st storage.Store, v *evidence.Verifier, prefix string, opts VerifyOptions, rep *Report, stored map[string]string) error {
	cs, err := gather(ctx, st, prefix, &rep.Envelopes, &rep.Verified, func(key string) (link, string, bool) {
		l, ok := verifyOne(ctx, st, v, key, rep, stored)
		if !ok {
			return link{}, "", false
		}
		return l, ChainID(&l.ev.Predicate), true
	})
	if err != nil {
		return err
	}
	rep.Chains = len(cs.order)
	for _, links := range cs.sorted() {
		last := links[len(links)-1]
		p := last.ev.Predicate
		rep.Heads = append(rep.Heads, ChainHead{Collector: p.Collector.Name, Scope: p.Scope, Sources: p.Sources,
			Envelopes: len(links), Head: last.key, HeadSHA256: last.digest, CollectedAt: p.CollectedAt})
		if !opts.SkipChains {
			// A link to an envelope that failed its own checks is reported
			// with what is wrong with it (missing, modified) by
			// describeMissing.
			verifyChain(ctx, st, links, "envelope", p.Collector.Name+" chain for "+p.Scope, opts.Boundary, rep)
		}
	}
	return nil
}

func verifyRuns(ctx context.Context, st storage.Store, v *evidence.Verifier, prefix string, opts VerifyOptions, rep *Report, stored map[string]string) error {
	cs, err := gather(ctx, st, prefix, &rep.Runs, &rep.RunsVerified, func(key string) (link, string, bool) {
		l, ok := verifyRun(ctx, st, v, key, rep, stored)
		if l.run == nil {
			return link{}, "", false
		}
		// A record whose evidence is missing is still a genuine link of its
		// job's chain: its successor's link is not broken.
		return l, l.run.Predicate.Job, ok
	})
	if err != nil {
		return err
	}
	rep.RunChains = len(cs.order)
	for _, links := range cs.sorted() {
		last := links[len(links)-1]
		p := last.run.Predicate
		statuses := map[evidence.RunStatus]int{}
		for _, st := range evidence.RunStatuses {
			statuses[st] = 0
		}
		for _, l := range links {
			statuses[l.run.Predicate.Status]++
		}
		rep.RunHeads = append(rep.RunHeads, RunHead{Job: p.Job, Records: len(links), Statuses: statuses, Head: last.key, HeadSHA256: last.digest, FinishedAt: p.FinishedAt})
		if !opts.SkipChains {
			verifyChain(ctx, st, links, "run record", "run chain of job "+p.Job, opts.Boundary, rep)
			verifyWindows(links, rep)
		}
	}
	return nil
}

// verifyWindows checks that a job's scheduled windows join: each starts
// where the one before ended, so the run records account for every moment
// since the job's first window, collected or recorded as missed. Manual
// runs (any window) and interrupted runs (collected again) are left out.
func verifyWindows(links []link, rep *Report) {
	var prev *link
	for i := range links {
		l := &links[i]
		p := l.run.Predicate
		if p.Trigger == evidence.TriggerManual || p.Status == evidence.RunInterrupted {
			continue
		}
		if prev != nil {
			end := prev.run.Predicate.Window.End
			switch {
			case p.Window.Start.After(end):
				rep.add(l.key, "window %s of job %s leaves a gap after the window %s of %s: %s to %s is neither collected nor recorded as missed",
					p.Window, p.Job, prev.run.Predicate.Window, prev.key, end.UTC().Format(time.RFC3339), p.Window.Start.UTC().Format(time.RFC3339))
			case p.Window.Start.Before(end):
				rep.add(l.key, "window %s of job %s overlaps the window %s of %s",
					p.Window, p.Job, prev.run.Predicate.Window, prev.key)
			}
		}
		prev = l
	}
}

// verifyRun checks one run record. The link is set when the record itself
// verified; ok is false when anything, including the evidence it names,
// is wrong.
func verifyRun(ctx context.Context, st storage.Store, v *evidence.Verifier, key string, rep *Report, stored map[string]string) (l link, ok bool) {
	pk, data, ok := readKey(ctx, st, key, ParseRunKey, rep)
	if !ok {
		return link{}, false
	}
	e, err := checkRunRecord(ctx, v, pk, data)
	if err != nil {
		rep.add(key, "%v", err)
		return link{}, false
	}
	ok = true
	for _, ev := range e.Statement.Predicate.Evidence {
		if reason := evidenceStored(ctx, st, ev, stored); reason != "" {
			rep.add(key, "%s", reason)
			ok = false
		}
	}
	return link{key: key, digest: e.SHA256, prev: e.Statement.Predicate.Previous, run: &e.Statement}, ok
}

// evidenceStored checks that an envelope a run record names is in the store
// with the digest the record gives; it returns what is wrong, or "".
func evidenceStored(ctx context.Context, st storage.Store, ev evidence.RunEvidence, stored map[string]string) string {
	pk, err := ParseEvidenceKey(ev.Key)
	if err != nil {
		return fmt.Sprintf("run record names evidence %s, which is not an evidence key: %v", ev.Key, err)
	}
	if pk.Digest != ev.SHA256 {
		return fmt.Sprintf("run record names evidence %s with sha256 %s, which its key contradicts", ev.Key, ev.SHA256)
	}
	digest, read := stored[ev.Key]
	if !read {
		data, err := st.Get(ctx, ev.Key)
		switch {
		case errors.Is(err, storage.ErrNotExist):
			return fmt.Sprintf("run record names evidence %s that is not in the store", ev.Key)
		case err != nil:
			return fmt.Sprintf("run record names evidence %s, which is unreadable: %v", ev.Key, err)
		}
		digest = evidence.Digest(data)
	}
	if digest != ev.SHA256 {
		return fmt.Sprintf("run record names evidence %s with sha256 %s, but the stored file's sha256 is %s", ev.Key, ev.SHA256, digest)
	}
	return ""
}

// readKey parses a stored key and reads its object; ok is false, with the
// problem reported, if either fails.
func readKey[K any](ctx context.Context, st storage.Store, key string, parse func(string) (K, error), rep *Report) (pk K, data []byte, ok bool) {
	pk, err := parse(key)
	if err != nil {
		rep.add(key, "%v", err)
		return pk, nil, false
	}
	data, err = st.Get(ctx, key)
	if err != nil {
		rep.add(key, "unreadable: %v", err)
		return pk, nil, false
	}
	return pk, data, true
}

func verifyOne(ctx context.Context, st storage.Store, v *evidence.Verifier, key string, rep *Report, stored map[string]string) (link, bool) {
	pk, data, ok := readKey(ctx, st, key, ParseEvidenceKey, rep)
	if !ok {
		return link{}, false
	}
	digest := evidence.Digest(data)
	stored[key] = digest
	if err := checkNamedDigest(digest, pk.Digest); err != nil {
		rep.add(key, "%v", err)
		return link{}, false
	}
	ver, err := v.Verify(ctx, data)
	if err != nil {
		rep.add(key, "%v", err)
		return link{}, false
	}
	p := ver.Statement.Predicate
	switch {
	case p.Collector.Name != pk.Collector:
		rep.add(key, "stored under collector %q but the statement says %q", pk.Collector, p.Collector.Name)
		return link{}, false
	case ScopeSlug(p.Scope) != pk.Slug:
		rep.add(key, "stored under scope %q but the statement's scope is %q", pk.Slug, p.Scope)
		return link{}, false
	case !p.CollectedAt.Equal(pk.CollectedAt):
		rep.add(key, "stored as collected at %s but the statement says %s", pk.CollectedAt, p.CollectedAt)
		return link{}, false
	case ver.RawFactsName != RawKey(ver.RawFactsSHA256):
		rep.add(key, "subject name %q is not the raw facts key %q", ver.RawFactsName, RawKey(ver.RawFactsSHA256))
		return link{}, false
	}
	raw, err := st.Get(ctx, ver.RawFactsName)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		rep.add(key, "raw facts object %s is missing", ver.RawFactsName)
		return link{}, false
	case err != nil:
		rep.add(key, "raw facts object %s unreadable: %v", ver.RawFactsName, err)
		return link{}, false
	case evidence.Digest(raw) != ver.RawFactsSHA256:
		rep.add(key, "raw facts object %s was modified: its sha256 is %s, the signed subject says %s", ver.RawFactsName, evidence.Digest(raw), ver.RawFactsSHA256)
		return link{}, false
	}
	return link{key: key, digest: digest, prev: p.Previous, ev: &ver.Statement}, true
}

// checkNamedDigest checks an object's digest against the one its key gives.
func checkNamedDigest(digest, named string) error {
	if digest != named {
		return fmt.Errorf("content was modified after it was written: its sha256 is %s, its name says %s", digest, named)
	}
	return nil
}

// verifyChain checks one chain's links, sorted by key: what names the
// objects ("envelope", "run record") and chain the chain, in messages. A
// link to an object of boundary (outside the verified set) with the digest
// given there is accepted wherever it is.
func verifyChain(ctx context.Context, st storage.Store, links []link, what, chain string, boundary map[string]string, rep *Report) {
	byDigest := map[string]link{}
	for _, l := range links {
		byDigest[l.digest] = l
	}
	claimed := map[string]string{}
	for i, l := range links {
		prev := l.prev
		if prev.First {
			if i > 0 {
				rep.add(l.key, "a second start of the %s: the chain was restarted, or every %s before it was deleted", chain, what)
			}
			continue
		}
		if other, dup := claimed[prev.SHA256]; dup {
			rep.add(l.key, "fork: %s also follows %s", other, prev.Key)
		}
		claimed[prev.SHA256] = l.key
		p, ok := byDigest[prev.SHA256]
		if !ok && prev.Key != "" && boundary[prev.Key] == prev.SHA256 {
			continue
		}
		if !ok {
			rep.add(l.key, "chain broken: previous %s %s (sha256 %s) %s", what, prev.Key, prev.SHA256, describeMissing(ctx, st, prev))
			continue
		}
		if i == 0 || links[i-1].digest != p.digest {
			rep.add(l.key, "chain out of order: its previous is %s but the %s before it is %s", p.key, what, keyOrNone(links, i-1))
		}
	}
}

func describeMissing(ctx context.Context, st storage.Store, prev evidence.Previous) string {
	if prev.Key == "" {
		return "is not in the store"
	}
	data, err := st.Get(ctx, prev.Key)
	if errors.Is(err, storage.ErrNotExist) {
		return "is missing: deleted from the store"
	}
	if err != nil {
		return fmt.Sprintf("is unreadable: %v", err)
	}
	if d := evidence.Digest(data); d != prev.SHA256 {
		return fmt.Sprintf("was modified: its sha256 is now %s", d)
	}
	return "failed its own checks (see its own problem)"
}

func keyOrNone(links []link, i int) string {
	if i < 0 {
		return "none"
	}
	return links[i].key
}
