// Package storagetest is the contract suite every storage backend must pass:
// create-only writes, refused overwrites, missing and invalid keys, ordered
// listing that agrees with Get and Stat, concurrent writers of one key, no
// partly written object ever visible, and cancellation of writes and reads.
//
// It holds only backend-independent behaviour. What one backend adds (the
// file store's refusal of symlinks and named pipes) is tested with that
// backend.
//
// A backend's test calls Run with a function returning a fresh store. The
// suite writes under a unique key prefix per subtest, so a backend whose
// fresh stores share state (an S3 bucket) passes too. Nothing is skipped: a
// backend that cannot run the suite must fail, not pass silently.
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/changeproof/changeproof/storage"
)

// Run runs the contract suite as subtests of t. newStore is called once per
// subtest and must return an empty store, or one whose existing keys do not
// start with "storagetest/".
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store, p string)
	}{
		{"RoundTrip", testRoundTrip},
		{"OverwriteRefused", testOverwriteRefused},
		{"MissingKey", testMissingKey},
		{"InvalidKey", testInvalidKey},
		{"List", testList},
		{"ConcurrentPutSameKey", testConcurrentPutSameKey},
		{"PartialWriteInvisible", testPartialWriteInvisible},
		{"CancelledContext", testCancelledContext},
		{"Describe", testDescribe},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tc.fn(t, s, uniquePrefix(t, tc.name))
		})
	}
}

// uniquePrefix returns a fresh key prefix ending in '/'.
func uniquePrefix(t *testing.T, name string) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "storagetest/" + name + "-" + hex.EncodeToString(b) + "/"
}

// put stores data under key and fails the test on error.
func put(t *testing.T, s storage.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), key, data); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// get returns the content under key and fails the test on error.
func get(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	got, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return got
}

// list collects a listing and fails the test on error.
func list(t *testing.T, s storage.Store, prefix string) []storage.ObjectInfo {
	t.Helper()
	var out []storage.ObjectInfo
	for info, err := range s.List(t.Context(), prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		out = append(out, info)
	}
	return out
}

// pattern returns n bytes that differ between seeds and are not periodic
// enough for a truncated or spliced copy to compare equal. It includes NULs.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
		if i%97 == 0 {
			b[i] = 0
		}
	}
	return b
}

func testRoundTrip(t *testing.T, s storage.Store, p string) {
	cases := []struct {
		key  string
		data []byte
	}{
		{p + "small.json", []byte(`{"hello":"world"}`)},
		{p + "empty", []byte{}},
		{p + "blob/1MiB.bin", pattern(1<<20, 1)},
		{p + "deep/er/and/deeper/with space/ünïcode-ключ.json", []byte("unicode key")},
	}
	for _, c := range cases {
		data := bytes.Clone(c.data)
		put(t, s, c.key, data)
		// The store must not keep a reference to the caller's slice.
		for i := range data {
			data[i] ^= 0xff
		}
		got := get(t, s, c.key)
		if !bytes.Equal(got, c.data) {
			t.Errorf("Get(%q) returned %d bytes that differ from the %d stored", c.key, len(got), len(c.data))
		}
		info, err := s.Stat(t.Context(), c.key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", c.key, err)
		}
		if info.Key != c.key || info.Size != int64(len(c.data)) {
			t.Errorf("Stat(%q) = key %q size %d, want key %q size %d", c.key, info.Key, info.Size, c.key, len(c.data))
		}
		if info.ModTime.IsZero() {
			t.Errorf("Stat(%q): zero ModTime", c.key)
		}
	}
}

func testOverwriteRefused(t *testing.T, s storage.Store, p string) {
	key := p + "evidence.json"
	first := []byte("first version")
	put(t, s, key, first)
	for _, data := range [][]byte{[]byte("second version, longer than the first"), first, {}} {
		err := s.Put(t.Context(), key, data)
		if !errors.Is(err, storage.ErrExists) {
			t.Errorf("second Put(%q, %q) = %v, want an error wrapping ErrExists", key, data, err)
		}
	}
	if got := get(t, s, key); !bytes.Equal(got, first) {
		t.Errorf("after refused overwrites Get(%q) = %q, want %q", key, got, first)
	}
	if got := list(t, s, p); len(got) != 1 || got[0].Key != key || got[0].Size != int64(len(first)) {
		t.Errorf("after refused overwrites List(%q) = %v, want only %q with size %d", p, got, key, len(first))
	}
}

func testMissingKey(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"dir/object", []byte("x"))
	for _, key := range []string{
		p + "never-stored",
		p + "dir",              // only a prefix of a stored key
		p + "dir/object/below", // a path through a stored object
		p + "dir/objec",        // a prefix of a stored key's last segment
	} {
		if _, err := s.Get(t.Context(), key); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("Get(%q) error = %v, want an error wrapping ErrNotExist", key, err)
		}
		if _, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("Stat(%q) error = %v, want an error wrapping ErrNotExist", key, err)
		}
	}
}

func testInvalidKey(t *testing.T, s storage.Store, p string) {
	put(t, s, p+"a/b", []byte("valid"))
	for _, key := range []string{
		"", "/abs", p + "a//b", p + "a/../b", "./a", p + "a/.tmp-x", `a\b`,
		p + "trailing/", p + "ctl\x00", p + "..", "../" + p + "a/b",
	} {
		if err := s.Put(t.Context(), key, []byte("x")); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q) error = %v, want an error wrapping ErrInvalidKey", key, err)
		}
		if _, err := s.Get(t.Context(), key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Get(%q) error = %v, want an error wrapping ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Stat(%q) error = %v, want an error wrapping ErrInvalidKey", key, err)
		}
	}
	// No valid key starts with these prefixes; a backend must not list
	// anything for them, in particular nothing outside the store.
	for _, prefix := range []string{"/", "../", p + "../", p + "a/../", p + "a//"} {
		if got := list(t, s, prefix); len(got) != 0 {
			t.Errorf("List(%q) = %v, want nothing", prefix, got)
		}
	}
	if got := list(t, s, p); len(got) != 1 || got[0].Key != p+"a/b" {
		t.Errorf("after invalid Puts List(%q) = %v, want only %q", p, got, p+"a/b")
	}
}

func testList(t *testing.T, s storage.Store, p string) {
	rel := []string{
		"a/1", "a/b/c", "a/b/d/e", "a/bc", "a/b-x", "a/c", "ab", "b/1", "b/2/3", "c",
	}
	sizes := map[string]int64{}
	for i, r := range rel {
		key := p + r
		data := pattern(10+i*7, byte(i))
		put(t, s, key, data)
		sizes[key] = int64(len(data))
	}
	// want returns the stored keys starting with p+sub, sorted byte-wise.
	want := func(sub string) []string {
		var out []string
		for key := range sizes {
			if strings.HasPrefix(key, p+sub) {
				out = append(out, key)
			}
		}
		slices.Sort(out)
		return out
	}
	for _, sub := range []string{
		"", "a/", "a/b", "a/b/", "a", "b/", "b/2", "c", "a/b/c", "a/b-",
		"missing/", "missing", "a/b/c/", "a/b/c/d", "a/b/d/e/f/", "a/bcd",
	} {
		got := list(t, s, p+sub)
		var keys []string
		for _, info := range got {
			keys = append(keys, info.Key)
			if size, ok := sizes[info.Key]; ok && info.Size != size {
				t.Errorf("List(%q): %q has size %d, want %d", p+sub, info.Key, info.Size, size)
			}
			if info.ModTime.IsZero() {
				t.Errorf("List(%q): %q has a zero ModTime", p+sub, info.Key)
			}
		}
		if w := want(sub); !slices.Equal(keys, w) {
			t.Errorf("List(%q) =\n  %q\nwant\n  %q", p+sub, keys, w)
		}
	}
	// List, Stat and Get agree: every listed object can be read, with the
	// listed size.
	for _, info := range list(t, s, p) {
		st, err := s.Stat(t.Context(), info.Key)
		if err != nil {
			t.Errorf("List(%q) yields %q but Stat fails: %v", p, info.Key, err)
		} else if st.Key != info.Key || st.Size != info.Size {
			t.Errorf("List(%q) yields %q with size %d, Stat says %q with size %d", p, info.Key, info.Size, st.Key, st.Size)
		}
		if data, err := s.Get(t.Context(), info.Key); err != nil || int64(len(data)) != info.Size {
			t.Errorf("List(%q) yields %q with size %d, Get returns %d bytes and %v", p, info.Key, info.Size, len(data), err)
		}
	}
	// Sanity check of the expected order itself: '-' sorts before '/'.
	if w := want("a/"); !slices.Equal(w, []string{p + "a/1", p + "a/b-x", p + "a/b/c", p + "a/b/d/e", p + "a/bc", p + "a/c"}) {
		t.Fatalf("suite bug: unexpected expected order %q", w)
	}

	// The empty prefix lists the whole store, which may hold other keys.
	var all []string
	for _, info := range list(t, s, "") {
		all = append(all, info.Key)
	}
	if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Errorf("List(\"\") is not in strictly ascending key order")
	}
	for key := range sizes {
		if _, found := slices.BinarySearch(all, key); !found {
			t.Errorf("List(\"\") misses %q", key)
		}
	}

	// Stopping early must be honoured.
	n := 0
	for range s.List(t.Context(), p) {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("List(%q) with an early break yielded %d objects, want 2", p, n)
	}
}

func testConcurrentPutSameKey(t *testing.T, s storage.Store, p string) {
	const writers = 16
	key := p + "contested.json"
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			errs[i] = s.Put(t.Context(), key, fmt.Appendf(nil, "writer %d", i))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, storage.ErrExists):
			t.Errorf("writer %d: %v, want nil or an error wrapping ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	if got, want := get(t, s, key), fmt.Sprintf("writer %d", winner); string(got) != want {
		t.Errorf("Get(%q) = %q, want the winner's %q", key, got, want)
	}
}

func testPartialWriteInvisible(t *testing.T, s storage.Store, p string) {
	const size = 8 << 20
	const objects = 3
	var keys [objects]string
	var data [objects][]byte
	for i := range objects {
		keys[i] = fmt.Sprintf("%sbig/%d.bin", p, i)
		data[i] = pattern(size, byte(i+10))
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	ctx := t.Context()
	readGetStat := func() {
		for i, key := range keys {
			got, err := s.Get(ctx, key)
			switch {
			case errors.Is(err, storage.ErrNotExist):
			case err != nil:
				report("Get(%q) during Put: %v", key, err)
			case !bytes.Equal(got, data[i]):
				report("Get(%q) during Put returned %d bytes, not the complete %d-byte object", key, len(got), size)
			}
			info, err := s.Stat(ctx, key)
			switch {
			case errors.Is(err, storage.ErrNotExist):
			case err != nil:
				report("Stat(%q) during Put: %v", key, err)
			case info.Size != size:
				report("Stat(%q) during Put: size %d, want %d", key, info.Size, size)
			}
		}
	}
	readList := func() {
		for info, err := range s.List(ctx, p) {
			switch {
			case err != nil:
				report("List(%q) during Put: %v", p, err)
				return
			case !slices.Contains(keys[:], info.Key):
				report("List(%q) during Put: unexpected key %q", p, info.Key)
			case info.Size != size:
				report("List(%q) during Put: %q has size %d, want %d", p, info.Key, info.Size, size)
			}
		}
	}
	for _, read := range []func(){readGetStat, readList} {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
					read()
				}
			}
		})
	}
	for i, key := range keys {
		if err := s.Put(ctx, key, data[i]); err != nil {
			close(done)
			wg.Wait()
			t.Fatalf("Put(%q): %v", key, err)
		}
	}
	close(done)
	wg.Wait()
	for _, msg := range problems {
		t.Error(msg)
	}
	for i, key := range keys {
		if got := get(t, s, key); !bytes.Equal(got, data[i]) {
			t.Errorf("Get(%q) after Put returned different content", key)
		}
	}
}

func testCancelledContext(t *testing.T, s storage.Store, p string) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	key := p + "cancelled.json"
	if err := s.Put(ctx, key, []byte("must not be stored")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context = %v, want an error wrapping context.Canceled", err)
	}
	if _, err := s.Get(t.Context(), key); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Get(%q) after a cancelled Put: error = %v, want an error wrapping ErrNotExist", key, err)
	}
	if got := list(t, s, p); len(got) != 0 {
		t.Errorf("List(%q) after a cancelled Put = %v, want nothing", p, got)
	}
	// The key is still free.
	put(t, s, key, []byte("stored"))
	// Reads with a cancelled context fail with the context's error, even for
	// an object that is there.
	if data, err := s.Get(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Get(%q) with a cancelled context = %q, %v; want an error wrapping context.Canceled", key, data, err)
	}
	if info, err := s.Stat(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat(%q) with a cancelled context = %v, %v; want an error wrapping context.Canceled", key, info, err)
	}
	var yielded []string
	var errs []error
	for info, err := range s.List(ctx, p) {
		if err != nil {
			errs = append(errs, err)
		} else {
			yielded = append(yielded, info.Key)
		}
	}
	if len(yielded) != 0 || len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("List(%q) with a cancelled context yielded keys %q and errors %v; want only one error wrapping context.Canceled", p, yielded, errs)
	}
}

func testDescribe(t *testing.T, s storage.Store, _ string) {
	d := s.Describe()
	if !strings.Contains(d.URL, "://") {
		t.Errorf("Describe().URL = %q, want a URL with a scheme", d.URL)
	}
	if d.Protection == "" {
		t.Error("Describe().Protection is empty")
	}
}
