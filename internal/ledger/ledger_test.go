package ledger_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
)

type env struct {
	t      *testing.T
	dir    string
	store  storage.Store
	ledger *ledger.Ledger
	ver    *evidence.Verifier
	now    time.Time
	// windowEnd is where each job's next run record window starts, so
	// the windows of a job's records join as the scheduler's do.
	windowEnd map[string]time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := file.Open(context.Background(), "file://"+dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := evidence.NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dir: dir, store: st, ledger: &ledger.Ledger{Store: st, Signer: s}, ver: v,
		now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
}

func (e *env) statement(collector, scope string, facts any) *evidence.Statement {
	e.now = e.now.Add(time.Hour)
	findings := []evidence.Finding{{Target: scope, Status: evidence.StatusPass, Summary: "ok"}}
	raw, err := json.Marshal(facts)
	if err != nil {
		e.t.Fatal(err)
	}
	return &evidence.Statement{Predicate: evidence.Predicate{
		Collector:   evidence.CollectorInfo{Name: collector, Version: "1.0.0"},
		Scope:       scope,
		Targets:     []string{scope},
		Window:      schedules.Window{Start: e.now.Add(-24 * time.Hour), End: e.now},
		CollectedAt: e.now,
		Status:      evidence.StatusPass,
		Counts:      evidence.CountByStatus(findings),
		Findings:    findings,
		RawFacts:    raw,
	}}
}

func (e *env) append(collector, scope string, facts any) *ledger.Entry {
	e.t.Helper()
	entry, err := e.ledger.Append(context.Background(), e.statement(collector, scope, facts))
	if err != nil {
		e.t.Fatal(err)
	}
	return entry
}

func (e *env) verify() *ledger.Report {
	e.t.Helper()
	rep, err := ledger.Verify(context.Background(), e.store, e.ver, ledger.VerifyOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func (e *env) path(key string) string { return filepath.Join(e.dir, filepath.FromSlash(key)) }

// mutate rewrites a stored (read-only) file, as an attacker with disk access could.
func (e *env) mutate(key string, f func([]byte) []byte) {
	e.t.Helper()
	p := e.path(key)
	data, err := os.ReadFile(p)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, f(data), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func problemFor(rep *ledger.Report, key, reason string) bool {
	for _, p := range rep.Problems {
		if p.Key == key && strings.Contains(p.Reason, reason) {
			return true
		}
	}
	return false
}

func TestAppendChainsAndVerifies(t *testing.T) {
	e := newEnv(t)
	a := e.append("branch-protection", "github.com/acme", map[string]int{"n": 1})
	b := e.append("branch-protection", "github.com/acme", map[string]int{"n": 2})
	c := e.append("branch-protection", "github.com/acme", map[string]int{"n": 3})
	other := e.append("branch-protection", "github.com/acme/api@main", map[string]int{"n": 1})

	if !a.Statement.Predicate.Previous.First || a.Statement.Predicate.Previous.SHA256 != "" {
		t.Fatalf("first envelope must say it starts the chain: %+v", a.Statement.Predicate.Previous)
	}
	if got := b.Statement.Predicate.Previous; got.SHA256 != a.SHA256 || got.Key != a.Key || got.First {
		t.Fatalf("b.previous = %+v, want %s", got, a.Key)
	}
	if got := c.Statement.Predicate.Previous; got.SHA256 != b.SHA256 {
		t.Fatalf("c.previous = %+v, want %s", got, b.Key)
	}
	if !other.Statement.Predicate.Previous.First {
		t.Fatal("another scope must start its own chain")
	}
	// The key commits to the envelope's content, and the raw facts are stored
	// byte-exact under the subject's digest.
	data, err := os.ReadFile(e.path(c.Key))
	if err != nil {
		t.Fatal(err)
	}
	if evidence.Digest(data) != c.SHA256 || !strings.HasSuffix(c.Key, "-"+c.SHA256+".json") {
		t.Fatalf("key %s does not name the envelope digest %s", c.Key, evidence.Digest(data))
	}
	raw, err := os.ReadFile(e.path(c.RawKey))
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"n":3}` || c.RawKey != "raw/"+evidence.Digest(raw)+".json" {
		t.Fatalf("raw object %s = %q", c.RawKey, raw)
	}
	rep := e.verify()
	if !rep.OK() || rep.Envelopes != 4 || rep.Verified != 4 || rep.Chains != 2 {
		t.Fatalf("report = %+v", rep)
	}
}

func TestVerifyDetectsTamperedEnvelope(t *testing.T) {
	e := newEnv(t)
	e.append("branch-protection", "github.com/acme", 1)
	b := e.append("branch-protection", "github.com/acme", 2)
	c := e.append("branch-protection", "github.com/acme", 3)
	// One byte of the base64 payload changed.
	e.mutate(b.Key, func(d []byte) []byte {
		i := strings.Index(string(d), `"payload": "`) + len(`"payload": "`) + 40
		if d[i] == 'A' {
			d[i] = 'B'
		} else {
			d[i] = 'A'
		}
		return d
	})
	rep := e.verify()
	if rep.OK() {
		t.Fatal("tampered store verified")
	}
	if !problemFor(rep, b.Key, "modified after it was written") {
		t.Errorf("tampered envelope not named: %v", rep.Problems)
	}
	if !problemFor(rep, c.Key, "was modified") {
		t.Errorf("successor's broken link not reported: %v", rep.Problems)
	}
}

func TestVerifyDetectsTamperEvenWhenRenamed(t *testing.T) {
	// An attacker who changes an envelope and renames it to its new digest
	// still cannot produce a valid signature.
	e := newEnv(t)
	a := e.append("branch-protection", "github.com/acme", 1)
	data, _ := os.ReadFile(e.path(a.Key))
	// Change one base64 character of the payload in place, keeping the
	// canonical layout, so only the signature can fail.
	i := strings.Index(string(data), `"payload": "`) + len(`"payload": "`) + 10
	forged := []byte(string(data))
	if forged[i] == 'A' {
		forged[i] = 'B'
	} else {
		forged[i] = 'A'
	}
	forgedKey := strings.Replace(a.Key, a.SHA256, evidence.Digest(forged), 1)
	if err := os.Chmod(e.path(a.Key), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(e.path(a.Key)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.path(forgedKey), forged, 0o444); err != nil {
		t.Fatal(err)
	}
	rep := e.verify()
	if !problemFor(rep, forgedKey, "signature") {
		t.Fatalf("forged envelope not reported as a bad signature: %v", rep.Problems)
	}
}

func TestVerifyDetectsDeletionFromChain(t *testing.T) {
	e := newEnv(t)
	e.append("branch-protection", "github.com/acme", 1)
	b := e.append("branch-protection", "github.com/acme", 2)
	c := e.append("branch-protection", "github.com/acme", 3)
	if err := os.Remove(e.path(b.Key)); err != nil {
		t.Fatal(err)
	}
	rep := e.verify()
	if !problemFor(rep, c.Key, "chain broken: previous envelope "+b.Key) || !problemFor(rep, c.Key, "deleted") {
		t.Fatalf("deletion not reported on the next envelope: %v", rep.Problems)
	}
	if rep.Envelopes != 2 || rep.Verified != 2 {
		t.Fatalf("report = %+v", rep)
	}
}

func TestVerifyDetectsDeletedChainStart(t *testing.T) {
	e := newEnv(t)
	a := e.append("branch-protection", "github.com/acme", 1)
	b := e.append("branch-protection", "github.com/acme", 2)
	if err := os.Remove(e.path(a.Key)); err != nil {
		t.Fatal(err)
	}
	if rep := e.verify(); !problemFor(rep, b.Key, "deleted") {
		t.Fatalf("deleted first envelope not reported: %v", rep.Problems)
	}
}

func TestVerifyDetectsMissingOrModifiedRawFacts(t *testing.T) {
	e := newEnv(t)
	a := e.append("branch-protection", "github.com/acme", map[string]string{"x": "1"})
	b := e.append("branch-protection", "github.com/acme/api", map[string]string{"x": "2"})
	if err := os.Remove(e.path(a.RawKey)); err != nil {
		t.Fatal(err)
	}
	e.mutate(b.RawKey, func(d []byte) []byte { return []byte(strings.Replace(string(d), "2", "3", 1)) })
	rep := e.verify()
	if !problemFor(rep, a.Key, "raw facts object "+a.RawKey+" is missing") {
		t.Errorf("missing raw facts not reported: %v", rep.Problems)
	}
	if !problemFor(rep, b.Key, "raw facts object "+b.RawKey+" was modified") {
		t.Errorf("modified raw facts not reported: %v", rep.Problems)
	}
}

func TestVerifyRejectsUntrustedKey(t *testing.T) {
	e := newEnv(t)
	a := e.append("branch-protection", "github.com/acme", 1)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	v, _ := evidence.NewVerifier(otherPub)
	rep, err := ledger.Verify(context.Background(), e.store, v, ledger.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || !problemFor(rep, a.Key, "signature") {
		t.Fatalf("envelope verified with an untrusted key: %+v", rep)
	}
}

func TestVerifyEmptyStoreIsNotOK(t *testing.T) {
	e := newEnv(t)
	if rep := e.verify(); rep.OK() {
		t.Fatal("a store without evidence must not verify as OK")
	}
}

// hidingStore hides keys from List, as a concurrent writer's not-yet-visible
// object would be, to provoke a fork.
type hidingStore struct {
	storage.Store
	hide map[string]bool
}

func (h *hidingStore) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		for o, err := range h.Store.List(ctx, prefix) {
			if err == nil && h.hide[o.Key] {
				continue
			}
			if !yield(o, err) {
				return
			}
		}
	}
}

func TestVerifyDetectsFork(t *testing.T) {
	e := newEnv(t)
	e.append("branch-protection", "github.com/acme", 1)
	b := e.append("branch-protection", "github.com/acme", 2)
	blind := &ledger.Ledger{Store: &hidingStore{Store: e.store, hide: map[string]bool{b.Key: true}}, Signer: e.ledger.Signer}
	c, err := blind.Append(context.Background(), e.statement("branch-protection", "github.com/acme", 3))
	if err != nil {
		t.Fatal(err)
	}
	if c.Statement.Predicate.Previous.SHA256 == b.SHA256 {
		t.Fatal("test setup: the blind ledger should not have seen b")
	}
	rep := e.verify()
	if !problemFor(rep, c.Key, "fork") && !problemFor(rep, c.Key, "out of order") {
		t.Fatalf("fork not reported: %v", rep.Problems)
	}
}

func TestScopesSharingASlugKeepSeparateChains(t *testing.T) {
	e := newEnv(t)
	if ledger.ScopeSlug("github.com/a/b_c") != ledger.ScopeSlug("github.com/a_b/c") {
		t.Fatal("test setup: these scopes no longer share a slug; pick two that do")
	}
	a := e.append("branch-protection", "github.com/a/b_c", 1)
	b := e.append("branch-protection", "github.com/a_b/c", 2)
	c := e.append("branch-protection", "github.com/a/b_c", 3)
	if !b.Statement.Predicate.Previous.First {
		t.Fatal("a different scope with the same slug joined the other chain")
	}
	if c.Statement.Predicate.Previous.SHA256 != a.SHA256 {
		t.Fatalf("c.previous = %+v, want a", c.Statement.Predicate.Previous)
	}
	if rep := e.verify(); !rep.OK() || rep.Chains != 2 {
		t.Fatalf("report = %+v", rep)
	}
}

func TestParseEvidenceKey(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 8, 7, 6, time.UTC)
	d := strings.Repeat("ab", 32)
	key := ledger.EvidenceKey("branch-protection", "github.com/Acme/API@main", at, d)
	want := "evidence/branch-protection/github.com_acme_api@main/2026/11/23/20261123T090807.000000006Z-" + d + ".json"
	if key != want {
		t.Fatalf("key = %s, want %s", key, want)
	}
	pk, err := ledger.ParseEvidenceKey(key)
	if err != nil || !pk.CollectedAt.Equal(at) || pk.Digest != d || pk.Collector != "branch-protection" {
		t.Fatalf("parsed %+v, %v", pk, err)
	}
	if _, err := ledger.ParseEvidenceKey(strings.Replace(key, "/23/", "/24/", 1)); err == nil {
		t.Fatal("date folder disagreeing with the timestamp accepted")
	}
	long := ledger.ScopeSlug(strings.Repeat("github.com/acme/repo+", 20))
	if len(long) > 120 {
		t.Fatalf("slug of a long scope is %d bytes", len(long))
	}
}

func TestHeadIgnoresEnvelopesThatDoNotVerify(t *testing.T) {
	e := newEnv(t)
	a := e.append("branch-protection", "github.com/acme", 1)
	// Plant an unsigned envelope dated in the future at a valid key, as an
	// attacker with write access to the store could.
	planted := []byte("{\"payloadType\": \"application/vnd.in-toto+json\", \"payload\": \"e30=\", \"signatures\": []}\n")
	plantedKey := ledger.EvidenceKey("branch-protection", "github.com/acme", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), evidence.Digest(planted))
	if err := e.store.Put(context.Background(), plantedKey, planted); err != nil {
		t.Fatal(err)
	}
	b := e.append("branch-protection", "github.com/acme", 2)
	if b.Statement.Predicate.Previous.SHA256 != a.SHA256 {
		t.Fatalf("new evidence chained to %+v, want the last genuine envelope %s", b.Statement.Predicate.Previous, a.Key)
	}
	if rep := e.verify(); !problemFor(rep, plantedKey, "signature") && !problemFor(rep, plantedKey, "canonical") {
		t.Fatalf("planted envelope not reported: %v", rep.Problems)
	}
}

func TestAppendRefusesAClockThatWentBackwards(t *testing.T) {
	e := newEnv(t)
	e.append("branch-protection", "github.com/acme", 1)
	st := e.statement("branch-protection", "github.com/acme", 2)
	st.Predicate.CollectedAt = st.Predicate.CollectedAt.Add(-3 * time.Hour)
	_, err := e.ledger.Append(context.Background(), st)
	if err == nil || !strings.Contains(err.Error(), "clock went backwards") {
		t.Fatalf("err = %v", err)
	}
}
