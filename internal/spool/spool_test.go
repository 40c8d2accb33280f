package spool

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changeproof/changeproof/evidence"
	"github.com/changeproof/changeproof/internal/ledger"
	"github.com/changeproof/changeproof/schedules"
	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
)

// outage is a store that can be switched off: while down, every call fails
// with storage.ErrUnavailable, as the S3 store's do when the server is gone.
// The S3 outage itself is tested against a real server in internal/cli.
type outage struct {
	storage.Store
	down atomic.Bool
	puts atomic.Int64
}

func (o *outage) err() error {
	return fmt.Errorf("s3 put: dial tcp 127.0.0.1:9: connection refused: %w", storage.ErrUnavailable)
}

func (o *outage) Put(ctx context.Context, key string, data []byte) error {
	o.puts.Add(1)
	if o.down.Load() {
		return o.err()
	}
	return o.Store.Put(ctx, key, data)
}

func (o *outage) Get(ctx context.Context, key string) ([]byte, error) {
	if o.down.Load() {
		return nil, o.err()
	}
	return o.Store.Get(ctx, key)
}

func (o *outage) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if o.down.Load() {
		return storage.ObjectInfo{}, o.err()
	}
	return o.Store.Stat(ctx, key)
}

func (o *outage) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	if o.down.Load() {
		return func(yield func(storage.ObjectInfo, error) bool) { yield(storage.ObjectInfo{}, o.err()) }
	}
	return o.Store.List(ctx, prefix)
}

func newRemote(t *testing.T) *outage {
	t.Helper()
	st, err := file.Open(context.Background(), filepath.Join(t.TempDir(), "remote"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &outage{Store: st}
}

func open(t *testing.T, remote storage.Store, dir string) *Store {
	t.Helper()
	s, err := Open(remote, remote.Describe().URL, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keys(t *testing.T, st storage.Store, prefix string) []string {
	t.Helper()
	var out []string
	for obj, err := range st.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj.Key)
	}
	return out
}

func TestPutGoesToTheRemoteStoreWhenItIsUp(t *testing.T) {
	ctx := context.Background()
	remote := newRemote(t)
	s := open(t, remote, filepath.Join(t.TempDir(), "spool"))
	if err := s.Put(ctx, "raw/a.json", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if got, err := remote.Get(ctx, "raw/a.json"); err != nil || string(got) != "a" {
		t.Fatalf("remote holds %q, %v", got, err)
	}
	if n, _ := s.Pending(ctx); n != 0 || len(s.Spooled()) != 0 {
		t.Fatalf("pending %d, spooled %v: nothing should be spooled", n, s.Spooled())
	}
	if err := s.Put(ctx, "raw/a.json", []byte("b")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("an existing key: err = %v, want ErrExists (a refusal is not an outage)", err)
	}
	if n, _ := s.Pending(ctx); n != 0 {
		t.Fatal("a refused overwrite was spooled")
	}
}

func TestOutageSpoolsAndFlushUploadsInOrder(t *testing.T) {
	ctx := context.Background()
	remote := newRemote(t)
	dir := filepath.Join(t.TempDir(), "spool")
	s := open(t, remote, dir)
	if err := s.Put(ctx, "evidence/x/2026/01/01/a.json", []byte("old")); err != nil {
		t.Fatal(err)
	}

	remote.down.Store(true)
	objs := map[string]string{
		"evidence/x/2026/01/02/b.json": "envelope b",
		"evidence/x/2026/01/03/c.json": "envelope c",
		"raw/r1.json":                  "raw 1",
		"keys/k.pub":                   "key",
	}
	for _, k := range []string{"raw/r1.json", "keys/k.pub", "evidence/x/2026/01/02/b.json", "evidence/x/2026/01/03/c.json"} {
		if err := s.Put(ctx, k, []byte(objs[k])); err != nil {
			t.Fatalf("put %s during the outage: %v", k, err)
		}
	}
	if got := s.Spooled(); len(got) != 4 {
		t.Fatalf("spooled %v, want 4 keys", got)
	}
	if n := remote.puts.Load(); n != 2 {
		t.Fatalf("the remote store was asked %d times, want 2 (one before the outage, one in it): after the first failure the run writes to the spool directly", n)
	}
	if got, err := s.Get(ctx, "raw/r1.json"); err != nil || string(got) != "raw 1" {
		t.Fatalf("a spooled object cannot be read back: %q %v", got, err)
	}
	if _, err := s.Flush(ctx); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("flush during the outage: err = %v, want ErrUnavailable", err)
	}
	if n, _ := s.Pending(ctx); n != 4 {
		t.Fatalf("a failed flush lost objects: %d pending, want 4", n)
	}

	// The spool survives a restart: a new process opens the same directory.
	remote.down.Store(false)
	s2 := open(t, remote, dir)
	if n, _ := s2.Pending(ctx); n != 4 {
		t.Fatalf("after a restart %d objects are pending, want 4", n)
	}
	// Listing sees the store and the spool together, each key once.
	if got := keys(t, s2, "evidence/"); !slices.Equal(got, []string{"evidence/x/2026/01/01/a.json", "evidence/x/2026/01/02/b.json", "evidence/x/2026/01/03/c.json"}) {
		t.Fatalf("merged listing = %v", got)
	}

	order := &recorder{Store: remote}
	s3, err := Open(order, remote.Describe().URL, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s3.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Uploaded) != 4 || rep.Remaining != 0 || len(rep.Conflicts) != 0 {
		t.Fatalf("flush report %+v", rep)
	}
	want := []string{"keys/k.pub", "raw/r1.json", "evidence/x/2026/01/02/b.json", "evidence/x/2026/01/03/c.json"}
	if !slices.Equal(order.puts, want) {
		t.Fatalf("upload order %v, want %v (what an envelope names first, envelopes oldest first)", order.puts, want)
	}
	for k, v := range objs {
		if got, err := remote.Get(ctx, k); err != nil || string(got) != v {
			t.Errorf("remote %s = %q, %v; want %q", k, got, err, v)
		}
	}
	if n, _ := s3.Pending(ctx); n != 0 {
		t.Fatalf("%d objects still spooled after a flush", n)
	}
	if _, err := os.Stat(filepath.Join(dir, storageFile)); !os.IsNotExist(err) {
		t.Errorf("the storage record outlived an emptied spool: %v", err)
	}
	// A second flush has nothing to do.
	if rep, err := s3.Flush(ctx); err != nil || len(rep.Uploaded) != 0 {
		t.Fatalf("second flush: %+v %v", rep, err)
	}
}

// TestFlushUploadsRunRecordsLast spools a run record before the envelope it
// names and the objects that envelope names: the flush uploads them in the
// reverse order, so the store never holds a record naming a missing object.
func TestFlushUploadsRunRecordsLast(t *testing.T) {
	ctx := context.Background()
	remote := newRemote(t)
	dir := filepath.Join(t.TempDir(), "spool")
	s := open(t, remote, dir)
	remote.down.Store(true)
	spooled := []string{
		"runs/nightly/2026/01/02/b.json",
		"runs/nightly/2026/01/01/a.json",
		"evidence/x/2026/01/02/e.json",
		"keys/k.pub",
		"raw/r.json",
	}
	for _, k := range spooled {
		if err := s.Put(ctx, k, []byte(k)); err != nil {
			t.Fatalf("put %s during the outage: %v", k, err)
		}
	}
	remote.down.Store(false)
	order := &recorder{Store: remote}
	rep, err := open(t, order, dir).Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"keys/k.pub", "raw/r.json", "evidence/x/2026/01/02/e.json", "runs/nightly/2026/01/01/a.json", "runs/nightly/2026/01/02/b.json"}
	if !slices.Equal(order.puts, want) || !slices.Equal(rep.Uploaded, want) {
		t.Fatalf("upload order %v (report %v), want %v: run records after the envelopes they name, oldest first", order.puts, rep.Uploaded, want)
	}
}

type recorder struct {
	storage.Store
	puts []string
}

func (r *recorder) Put(ctx context.Context, key string, data []byte) error {
	r.puts = append(r.puts, key)
	return r.Store.Put(ctx, key, data)
}

// described is a store that reports a given description.
type described struct {
	storage.Store
	desc storage.Description
}

func (d *described) Describe() storage.Description { return d.desc }

func TestFlushRefusesWeakerProtection(t *testing.T) {
	ctx := context.Background()
	remote := newRemote(t)
	dir := filepath.Join(t.TempDir(), "spool")
	locked := storage.Description{URL: "s3://ev/x/", WORM: true, Protection: "S3 Object Lock COMPLIANCE 1095 days",
		Lock: &storage.LockInfo{Kind: storage.LockS3ObjectLock, Mode: "COMPLIANCE", RetentionSeconds: 1095 * 86400, LegalHold: true}}
	s := open(t, &described{Store: remote, desc: locked}, dir)
	remote.down.Store(true)
	if err := s.Put(ctx, "raw/a.json", []byte("a")); err != nil {
		t.Fatal(err)
	}
	remote.down.Store(false)
	weak := func(mut func(*storage.Description)) storage.Description {
		d := locked
		l := *locked.Lock
		d.Lock = &l
		mut(&d)
		return d
	}
	for name, d := range map[string]storage.Description{
		"governance":    weak(func(d *storage.Description) { d.Lock.Mode = "GOVERNANCE" }),
		"shorter":       weak(func(d *storage.Description) { d.Lock.RetentionSeconds = 86400 }),
		"no legal hold": weak(func(d *storage.Description) { d.Lock.LegalHold = false }),
		"unlocked":      weak(func(d *storage.Description) { d.WORM = false; d.Lock = &storage.LockInfo{Kind: storage.LockNone} }),
		"other lock":    weak(func(d *storage.Description) { d.Lock.Kind = storage.LockR2BucketLock }),
	} {
		sp := open(t, &described{Store: remote, desc: d}, dir)
		if _, err := sp.Flush(ctx); err == nil || !strings.Contains(err.Error(), "weaker protection") {
			t.Errorf("%s: flush err = %v, want a refusal", name, err)
		}
		if n, _ := sp.Pending(ctx); n != 1 {
			t.Fatalf("%s: a refused flush changed the spool", name)
		}
	}
	stronger := weak(func(d *storage.Description) { d.Lock.RetentionSeconds *= 2 })
	if _, err := open(t, &described{Store: remote, desc: stronger}, dir).Flush(ctx); err != nil {
		t.Fatalf("flush with stronger protection: %v", err)
	}
}

func TestFlushKeepsConflictsAndDropsWhatIsAlreadyStored(t *testing.T) {
	ctx := context.Background()
	remote := newRemote(t)
	s := open(t, remote, filepath.Join(t.TempDir(), "spool"))
	remote.down.Store(true)
	for _, k := range []string{"raw/same.json", "raw/other.json"} {
		if err := s.Put(ctx, k, []byte("spooled")); err != nil {
			t.Fatal(err)
		}
	}
	remote.down.Store(false)
	// Meanwhile the store got the same bytes under one key (an earlier
	// flush that stopped before removing them) and other bytes under the
	// other (which must never be overwritten, nor the spooled copy lost).
	if err := remote.Store.Put(ctx, "raw/same.json", []byte("spooled")); err != nil {
		t.Fatal(err)
	}
	if err := remote.Store.Put(ctx, "raw/other.json", []byte("different")); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Flush(ctx)
	if err == nil || !strings.Contains(err.Error(), "raw/other.json") {
		t.Fatalf("a conflict must be an error naming the key, got %v", err)
	}
	if !slices.Equal(rep.AlreadyStored, []string{"raw/same.json"}) || !slices.Equal(rep.Conflicts, []string{"raw/other.json"}) || rep.Remaining != 1 {
		t.Fatalf("report %+v", rep)
	}
	if got, _ := remote.Get(ctx, "raw/other.json"); string(got) != "different" {
		t.Fatal("the stored object was overwritten")
	}
	if n, _ := s.Pending(ctx); n != 1 {
		t.Fatalf("pending %d, want the conflicting object kept", n)
	}
}

func TestSpoolDirectoryIsPrivateAndBelongsToOneStore(t *testing.T) {
	remote := newRemote(t)
	dir := filepath.Join(t.TempDir(), "spool")
	open(t, remote, dir)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Fatalf("spool directory created with mode %04o, want 0700", perm)
	}
	other := newRemote(t)
	if _, err := Open(other, other.Describe().URL, dir, nil); err == nil || !strings.Contains(err.Error(), "belongs to store") {
		t.Fatalf("a spool of another store was accepted: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(remote, remote.Describe().URL, dir, nil); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Fatalf("a spool others may read was accepted: %v", err)
	}
	if a, b := Dir("/var/spool", "s3://a"), Dir("/var/spool", "s3://b"); a == b || filepath.Dir(a) != "/var/spool" {
		t.Fatalf("Dir = %s, %s: want one directory per store under the root", a, b)
	}
}

// TestLedgerChainSurvivesAnOutage appends through a spooling store while the
// remote store is down, then flushes: the chain continues across the outage
// and the remote store verifies.
func TestLedgerChainSurvivesAnOutage(t *testing.T) {
	ctx := context.Background()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := evidence.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	remote := newRemote(t)
	s := open(t, remote, filepath.Join(t.TempDir(), "spool"))
	l := &ledger.Ledger{Store: s, Signer: signer}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	appendOne := func(down bool) *ledger.Entry {
		t.Helper()
		st := statement(at)
		at = at.Add(time.Hour)
		prev, headAt, err := l.Head(ctx, st.Predicate.Collector.Name, st.Predicate.Scope, st.Predicate.Sources)
		if err != nil {
			t.Fatal(err)
		}
		remote.down.Store(down) // the store goes away during the collection
		e, err := l.AppendAfter(ctx, st, prev, headAt)
		if err != nil {
			t.Fatal(err)
		}
		remote.down.Store(false)
		return e
	}
	first := appendOne(false)
	second := appendOne(true)
	third := appendOne(true)
	if second.Statement.Predicate.Previous.Key != first.Key || third.Statement.Predicate.Previous.Key != second.Key {
		t.Fatalf("chain across the outage: %s <- %s <- %s", first.Key, second.Statement.Predicate.Previous.Key, third.Statement.Predicate.Previous.Key)
	}
	// Two envelopes, their two raw-facts objects, and the public key, which
	// the unreachable store could not confirm it already held.
	if n, _ := s.Pending(ctx); n != 5 {
		t.Fatalf("pending %d, want 5", n)
	}
	rep, err := s.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Uploaded) != 4 || len(rep.AlreadyStored) != 1 || !strings.HasPrefix(rep.AlreadyStored[0], "keys/") {
		t.Fatalf("flush report %+v: want 4 uploads and the key already stored", rep)
	}
	pub, err := signer.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	pk, err := evidence.ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := evidence.NewVerifier(pk)
	if err != nil {
		t.Fatal(err)
	}
	vr, err := ledger.Verify(ctx, remote.Store, v, ledger.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !vr.OK() || vr.Envelopes != 3 || vr.Chains != 1 {
		t.Fatalf("remote store after the flush: %+v", vr)
	}
	for _, e := range []*ledger.Entry{first, second, third} {
		got, err := remote.Store.Get(ctx, e.Key)
		if err != nil || evidence.Digest(got) != e.SHA256 {
			t.Fatalf("%s in the remote store: %v", e.Key, err)
		}
	}
	if !bytes.Equal(must(remote.Store.Get(ctx, third.RawKey)), third.Statement.Predicate.RawFacts) {
		t.Fatal("raw facts differ after the flush")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func statement(at time.Time) *evidence.Statement {
	return &evidence.Statement{Predicate: evidence.Predicate{
		Collector:   evidence.CollectorInfo{Name: "branch-protection", Version: "1.0.0"},
		Controls:    []evidence.Control{{Framework: "soc2", ID: "CC8.1", Title: "Change management"}},
		Scope:       "github.com/acme",
		Targets:     []string{"github.com/acme/api@main"},
		Window:      schedules.Window{Start: at.Add(-24 * time.Hour), End: at},
		CollectedAt: at,
		Status:      evidence.StatusPass,
		Counts:      evidence.CountByStatus([]evidence.Finding{{Status: evidence.StatusPass}}),
		Findings:    []evidence.Finding{{Target: "github.com/acme/api@main", Status: evidence.StatusPass, Summary: "ok"}},
		Policy:      []byte(`{}`),
		RawFacts:    []byte(fmt.Sprintf(`{"at":%q}`, at.Format(time.RFC3339))),
		Sources:     map[string]string{"github": "https://api.github.com/"},
		Producer:    evidence.Producer{Name: "changeproof", Version: "test"},
	}}
}
