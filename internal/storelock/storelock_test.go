package storelock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changeproof/changeproof/internal/storelock"
)

func TestLockSerialisesWritersOfOneStore(t *testing.T) {
	path := storelock.Path(filepath.Join(t.TempDir(), "locks"), "s3://bucket/prefix")
	unlock, err := storelock.Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v", fi, err)
	}
	// A second writer (another open of the file, as another process would
	// do) waits until the first releases the lock.
	var got atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		u, err := storelock.Lock(context.Background(), path)
		if err != nil {
			t.Error(err)
			return
		}
		got.Store(true)
		u()
	}()
	time.Sleep(200 * time.Millisecond)
	if got.Load() {
		t.Fatal("a second writer took the lock while the first held it")
	}
	unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the second writer did not get the lock once it was released")
	}
	if !got.Load() {
		t.Fatal("second writer failed")
	}
}

func TestLockGivesUpWithItsContext(t *testing.T) {
	path := storelock.Path(t.TempDir(), "file:///srv/evidence")
	unlock, err := storelock.Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if _, err := storelock.Lock(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock on a held lock = %v, want the deadline", err)
	}
}

func TestPathDependsOnTheStore(t *testing.T) {
	a, b := storelock.Path("/x", "s3://a/p"), storelock.Path("/x", "s3://b/p")
	if a == b || filepath.Dir(a) != "/x" {
		t.Fatalf("paths %s %s", a, b)
	}
}
