// Package spool keeps signed evidence that a remote store could not take.
//
// A Store wraps a remote store (S3, R2) with a local spool directory. A write
// the remote store does not take — unreachable, throttled, 5xx, a permission
// or credential refused, an interrupted upload; anything but "exists" — goes
// to the spool instead, create-only and fsynced like the file store, so a
// signed envelope is never lost. The spool records how the store was to
// protect the objects (its storage.Description); Flush refuses to upload
// them to a store opened with weaker protection.
// Reads and listings see the remote store and the spool together, so the
// next collection chains onto a spooled envelope. Flush uploads what the
// spool holds — raw facts and keys before the envelopes that name them, each
// envelope in key (time) order, run records after the envelopes they name —
// and removes a spooled object only once the remote store holds the same
// bytes. The spool survives restarts: it is a plain directory, one per
// remote store.
package spool

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/changeproof/changeproof/storage"
	"github.com/changeproof/changeproof/storage/file"
)

// storeFile names the file in a spool directory that records which store
// the spool belongs to.
const storeFile = "STORE"

// objectsDir holds the spooled objects, laid out like the file store.
const objectsDir = "objects"

// storageFile records the storage descriptions the spooled objects were
// bound for (the envelopes say so in predicate.storage).
const storageFile = "STORAGE.json"

// Store is a remote store with a local spool. It implements storage.Store.
type Store struct {
	remote storage.Store
	local  storage.Store
	dir    string
	log    *slog.Logger

	recMu   sync.Mutex
	mu      sync.Mutex
	spooled []string
	// down is set once the remote store was unavailable: later writes of
	// the same run go straight to the spool instead of waiting through the
	// remote store's retries again. Flush always tries the remote store,
	// and clears down once the spool is empty.
	down bool
}

var _ storage.Store = (*Store)(nil)

// Dir returns the spool directory for a store URL under root: one
// subdirectory per store, named by a digest of its URL.
func Dir(root, storeURL string) string {
	sum := sha256.Sum256([]byte(storeURL))
	return filepath.Join(root, hex.EncodeToString(sum[:8]))
}

// Open wraps remote, opened from storeURL, with the spool directory dir,
// creating it (mode 0700: it holds raw facts of private repositories) if
// missing. storeURL is the URL as the user gave it, which names the spool
// whatever the environment resolves it to. A directory that another user
// owns, that others may read or write, or that belongs to another store is
// refused.
func Open(remote storage.Store, storeURL, dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	url := storeURL
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool directory %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("spool directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("spool directory %s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return nil, fmt.Errorf("spool directory %s belongs to user %d, not to this user (%d): its content would be uploaded unchecked", dir, st.Uid, os.Getuid())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("spool directory %s has mode %04o: others may read or change spooled evidence; run chmod 700 %s", dir, perm, dir)
	}
	marker := filepath.Join(dir, storeFile)
	have, err := os.ReadFile(marker)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.WriteFile(marker, []byte(url+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("spool directory %s: %w", dir, err)
		}
	case err != nil:
		return nil, fmt.Errorf("spool directory %s: %w", dir, err)
	case strings.TrimSpace(string(have)) != url:
		return nil, fmt.Errorf("spool directory %s belongs to store %s, not %s", dir, strings.TrimSpace(string(have)), url)
	}
	local, err := file.Open(context.Background(), filepath.Join(dir, objectsDir), storage.Options{})
	if err != nil {
		return nil, fmt.Errorf("spool directory %s: %w", dir, err)
	}
	return &Store{remote: remote, local: local, dir: dir, log: log}, nil
}

// Put writes to the remote store. When the remote store fails for any
// reason but "exists" or "invalid key", the object goes to the spool and Put
// returns nil (Spooled lists it); once the remote store failed, later
// writes of this Store go to the spool directly.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	var err error
	if down {
		err = fmt.Errorf("not tried: %s was unavailable earlier in this run: %w", s.remote.Describe().URL, storage.ErrUnavailable)
	} else {
		err = s.remote.Put(ctx, key, data)
	}
	if err == nil || errors.Is(err, storage.ErrExists) || errors.Is(err, storage.ErrInvalidKey) {
		return err
	}
	// Unavailable, refused (an expired credential, a missing permission),
	// or interrupted: keep what was signed either way.
	ctx = context.WithoutCancel(ctx)
	if rerr := s.record(); rerr != nil {
		return fmt.Errorf("%w; and spooling it to %s failed: %v", err, s.dir, rerr)
	}
	lerr := s.local.Put(ctx, key, data)
	if errors.Is(lerr, storage.ErrExists) {
		have, gerr := s.local.Get(ctx, key)
		if gerr == nil && bytes.Equal(have, data) {
			lerr = nil
		}
	}
	if lerr != nil {
		return fmt.Errorf("%w; and spooling it to %s failed: %v", err, s.dir, lerr)
	}
	s.mu.Lock()
	s.spooled = append(s.spooled, key)
	s.down = true
	s.mu.Unlock()
	s.log.Warn("store unavailable; object spooled for a later upload", "key", key, "spool", s.dir, "err", err)
	return nil
}

// Get reads from the remote store, then from the spool.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := s.remote.Get(ctx, key)
	if err == nil || !(errors.Is(err, storage.ErrNotExist) || errors.Is(err, storage.ErrUnavailable)) {
		return data, err
	}
	if local, lerr := s.local.Get(ctx, key); lerr == nil {
		return local, nil
	}
	return nil, err
}

// Stat describes an object of the remote store or the spool.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	info, err := s.remote.Stat(ctx, key)
	if err == nil || !(errors.Is(err, storage.ErrNotExist) || errors.Is(err, storage.ErrUnavailable)) {
		return info, err
	}
	if local, lerr := s.local.Stat(ctx, key); lerr == nil {
		return local, nil
	}
	return storage.ObjectInfo{}, err
}

// List yields the objects of the remote store and the spool under prefix,
// merged in key order, each key once. An unavailable remote store is an
// error: a listing without it would hide evidence.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		var all []storage.ObjectInfo
		// The spool first: Flush writes to the remote store before it
		// removes from the spool, so an object flushed meanwhile is seen
		// in one or the other.
		for _, st := range []storage.Store{s.local, s.remote} {
			for obj, err := range st.List(ctx, prefix) {
				if err != nil {
					yield(storage.ObjectInfo{}, err)
					return
				}
				all = append(all, obj)
			}
		}
		slices.SortStableFunc(all, func(a, b storage.ObjectInfo) int { return cmp.Compare(a.Key, b.Key) })
		all = slices.CompactFunc(all, func(a, b storage.ObjectInfo) bool { return a.Key == b.Key })
		for _, obj := range all {
			if !yield(obj, nil) {
				return
			}
		}
	}
}

// Describe describes the remote store: spooled objects are on their way
// there.
func (s *Store) Describe() storage.Description { return s.remote.Describe() }

// Dir is the spool directory.
func (s *Store) Dir() string { return s.dir }

// Remote is the remote store itself, for writes that must reach it or
// fail, never wait in the spool (claims on job windows).
func (s *Store) Remote() storage.Store { return s.remote }

// Spooled lists the keys this Store spooled since it was opened.
func (s *Store) Spooled() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.spooled)
}

// FlushReport says what a flush did.
type FlushReport struct {
	// Uploaded are the keys written to the remote store.
	Uploaded []string `json:"uploaded"`
	// AlreadyStored are keys the remote store already held with the same
	// bytes (an earlier flush stopped before removing them).
	AlreadyStored []string `json:"alreadyStored"`
	// Conflicts are keys the remote store holds with other bytes; they stay
	// in the spool for a person to examine.
	Conflicts []string `json:"conflicts"`
	// Remaining is how many objects are still spooled.
	Remaining int `json:"remaining"`
}

// Flush uploads the spooled objects: raw facts and public keys first, then
// the envelopes in key order (each chain oldest first), then the run records
// in key order, so an object never reaches the store before what it names.
// An object leaves the spool only once the remote store holds the same
// bytes. Flush stops at the first transient failure (the objects stay
// spooled) and returns an error for any other failure.
func (s *Store) Flush(ctx context.Context) (*FlushReport, error) {
	recorded, err := s.recorded()
	if err != nil {
		return nil, err
	}
	cur := s.remote.Describe()
	for _, want := range recorded {
		if why := weaker(cur, want); why != "" {
			return nil, fmt.Errorf("the evidence in spool %s was bound for a store protecting it as %q; %s is open with weaker protection (%s): flush with at least the same --lock-mode, --retention and --legal-hold",
				s.dir, want.Protection, cur.URL, why)
		}
	}
	var keys []string
	for obj, err := range s.local.List(ctx, "") {
		if err != nil {
			return nil, fmt.Errorf("reading spool %s: %w", s.dir, err)
		}
		keys = append(keys, obj.Key)
	}
	slices.SortStableFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
	})
	rep := &FlushReport{Uploaded: []string{}, AlreadyStored: []string{}, Conflicts: []string{}}
	var ferr error
	for i, key := range keys {
		if err := s.flushOne(ctx, key, rep); err != nil {
			rep.Remaining = len(keys) - i + len(rep.Conflicts)
			ferr = err
			break
		}
	}
	if ferr == nil {
		rep.Remaining = len(rep.Conflicts)
	}
	if ferr == nil && rep.Remaining == 0 {
		if err := os.Remove(filepath.Join(s.dir, storageFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rep, fmt.Errorf("spool %s: %w", s.dir, err)
		}
		// The store holds everything again: later writes (the daemon's
		// next runs) try it first rather than going to the spool.
		s.mu.Lock()
		s.down, s.spooled = false, nil
		s.mu.Unlock()
	}
	if ferr != nil {
		return rep, ferr
	}
	if len(rep.Conflicts) > 0 {
		return rep, fmt.Errorf("%d spooled object(s) differ from what %s holds under the same key, kept in %s: %s",
			len(rep.Conflicts), s.remote.Describe().URL, s.dir, strings.Join(rep.Conflicts, ", "))
	}
	return rep, nil
}

// rank orders evidence envelopes after everything they may name, and run
// records after the envelopes they name.
func rank(key string) int {
	switch {
	case strings.HasPrefix(key, "runs/"):
		return 2
	case strings.HasPrefix(key, "evidence/"):
		return 1
	}
	return 0
}

func (s *Store) flushOne(ctx context.Context, key string, rep *FlushReport) error {
	data, err := s.local.Get(ctx, key)
	if errors.Is(err, storage.ErrNotExist) {
		return nil // a concurrent flush uploaded it
	}
	if err != nil {
		return fmt.Errorf("reading spooled %s: %w", key, err)
	}
	err = s.remote.Put(ctx, key, data)
	switch {
	case err == nil:
		rep.Uploaded = append(rep.Uploaded, key)
	case errors.Is(err, storage.ErrExists):
		have, gerr := s.remote.Get(ctx, key)
		if gerr != nil {
			return fmt.Errorf("checking %s in %s: %w", key, s.remote.Describe().URL, gerr)
		}
		if !bytes.Equal(have, data) {
			rep.Conflicts = append(rep.Conflicts, key)
			return nil
		}
		rep.AlreadyStored = append(rep.AlreadyStored, key)
	default:
		return fmt.Errorf("uploading spooled %s: %w", key, err)
	}
	if err := os.Remove(filepath.Join(s.dir, objectsDir, filepath.FromSlash(key))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing uploaded %s from the spool: %w", key, err)
	}
	s.log.Info("spooled object uploaded", "key", key, "store", s.remote.Describe().URL)
	return nil
}

// recorded reads the storage descriptions of the spooled objects.
func (s *Store) recorded() ([]storage.Description, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, storageFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", s.dir, err)
	}
	var out []storage.Description
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("spool %s: %s is damaged: %w", s.dir, storageFile, err)
	}
	return out, nil
}

// record adds the remote store's description to the spool's record, so a
// flush can refuse weaker protection than the spooled evidence states.
func (s *Store) record() error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	have, err := s.recorded()
	if err != nil {
		return err
	}
	cur := s.remote.Describe()
	for _, d := range have {
		if reflect.DeepEqual(d, cur) {
			return nil
		}
	}
	data, err := json.MarshalIndent(append(have, cur), "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".storage-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(s.dir, storageFile))
}

// weaker says how cur protects objects less than want does, or "".
func weaker(cur, want storage.Description) string {
	if want.WORM && !cur.WORM {
		return "not WORM"
	}
	wl := want.Lock
	if wl == nil || wl.Kind == storage.LockNone {
		return ""
	}
	cl := cur.Lock
	if cl == nil || cl.Kind != wl.Kind {
		kind := "no lock"
		if cl != nil {
			kind = cl.Kind
		}
		return fmt.Sprintf("%s instead of %s", kind, wl.Kind)
	}
	rank := map[string]int{"GOVERNANCE": 1, "COMPLIANCE": 2}
	switch {
	case rank[cl.Mode] < rank[wl.Mode]:
		return fmt.Sprintf("mode %s instead of %s", cl.Mode, wl.Mode)
	case cl.RetentionSeconds < wl.RetentionSeconds:
		return fmt.Sprintf("retention %s instead of %s", time.Duration(cl.RetentionSeconds)*time.Second, time.Duration(wl.RetentionSeconds)*time.Second)
	case wl.LegalHold && !cl.LegalHold:
		return "no legal hold"
	}
	return ""
}

// Pending counts the spooled objects.
func (s *Store) Pending(ctx context.Context) (int, error) {
	n := 0
	for _, err := range s.local.List(ctx, "") {
		if err != nil {
			return n, fmt.Errorf("reading spool %s: %w", s.dir, err)
		}
		n++
	}
	return n, nil
}
