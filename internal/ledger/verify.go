package ledger

import (
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
	// Envelopes is how many envelopes were examined.
	Envelopes int `json:"envelopes"`
	// Verified is how many passed every check of their own (signature,
	// digests, raw facts); chain problems are counted separately.
	Verified int `json:"verified"`
	// Chains is the number of collector/scope chains seen.
	Chains int `json:"chains"`
	// Heads lists each chain with its newest verified envelope, so an
	// auditor can note them and later check nothing after them vanished.
	Heads []ChainHead `json:"heads"`
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

// OK reports whether nothing was wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Envelopes > 0 }

func (r *Report) add(key, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Key: key, Reason: fmt.Sprintf(format, args...)})
}

// VerifyOptions select what Verify checks.
type VerifyOptions struct {
	// Prefix limits verification to keys under it (default "evidence/").
	Prefix string
	// SkipChains verifies envelopes one by one, without their chains (for a
	// single file taken out of a store).
	SkipChains bool
}

type link struct {
	key    string
	digest string
	st     evidence.Statement
}

// Verify checks every envelope under the prefix: its name's digest against
// its content, its signature by a trusted key, its statement, its raw facts
// object, and — unless SkipChains — that each collector/scope chain is
// unbroken: one start, every previous link present and unmodified, no forks.
// It returns an error only when the store cannot be read at all.
func Verify(ctx context.Context, st storage.Store, v *evidence.Verifier, opts VerifyOptions) (*Report, error) {
	if opts.Prefix == "" {
		opts.Prefix = EvidencePrefix
	}
	rep := &Report{}
	chains := map[string][]link{}
	var order []string
	for obj, err := range st.List(ctx, opts.Prefix) {
		if err != nil {
			return nil, err // the store names the prefix
		}
		rep.Envelopes++
		l, ok := verifyOne(ctx, st, v, obj.Key, rep)
		if !ok {
			continue
		}
		rep.Verified++
		id := ChainID(&l.st.Predicate)
		if _, seen := chains[id]; !seen {
			order = append(order, id)
		}
		chains[id] = append(chains[id], l)
	}
	rep.Chains = len(chains)
	rep.ChainsChecked = !opts.SkipChains
	for _, id := range order {
		links := chains[id]
		slices.SortFunc(links, func(a, b link) int { return strings.Compare(a.key, b.key) })
		last := links[len(links)-1]
		p := last.st.Predicate
		rep.Heads = append(rep.Heads, ChainHead{Collector: p.Collector.Name, Scope: p.Scope, Sources: p.Sources,
			Envelopes: len(links), Head: last.key, HeadSHA256: last.digest, CollectedAt: p.CollectedAt})
	}
	if !opts.SkipChains {
		// A link to an envelope that failed its own checks is reported with
		// what is wrong with it (missing, modified) by describeMissing.
		for _, id := range order {
			verifyChain(ctx, st, chains[id], rep)
		}
	}
	if rep.Envelopes == 0 {
		rep.add(opts.Prefix, "no evidence envelopes found")
	}
	return rep, nil
}

func verifyOne(ctx context.Context, st storage.Store, v *evidence.Verifier, key string, rep *Report) (link, bool) {
	pk, err := ParseEvidenceKey(key)
	if err != nil {
		rep.add(key, "%v", err)
		return link{}, false
	}
	data, err := st.Get(ctx, key)
	if err != nil {
		rep.add(key, "unreadable: %v", err)
		return link{}, false
	}
	digest := evidence.Digest(data)
	if digest != pk.Digest {
		rep.add(key, "content was modified after it was written: its sha256 is %s, its name says %s", digest, pk.Digest)
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
	return link{key: key, digest: digest, st: ver.Statement}, true
}

func verifyChain(ctx context.Context, st storage.Store, links []link, rep *Report) {
	slices.SortFunc(links, func(a, b link) int { return strings.Compare(a.key, b.key) })
	byDigest := map[string]link{}
	for _, l := range links {
		byDigest[l.digest] = l
	}
	claimed := map[string]string{}
	for i, l := range links {
		prev := l.st.Predicate.Previous
		if prev.First {
			if i > 0 {
				rep.add(l.key, "a second start of the %s chain for %s: the chain was restarted, or every envelope before it was deleted", l.st.Predicate.Collector.Name, l.st.Predicate.Scope)
			}
			continue
		}
		if other, dup := claimed[prev.SHA256]; dup {
			rep.add(l.key, "fork: %s also follows %s", other, prev.Key)
		}
		claimed[prev.SHA256] = l.key
		p, ok := byDigest[prev.SHA256]
		if !ok {
			rep.add(l.key, "chain broken: previous envelope %s (sha256 %s) %s", prev.Key, prev.SHA256, describeMissing(ctx, st, prev))
			continue
		}
		if i == 0 || links[i-1].digest != p.digest {
			rep.add(l.key, "chain out of order: its previous is %s but the envelope before it is %s", p.key, keyOrNone(links, i-1))
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
