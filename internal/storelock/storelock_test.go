package storelock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

func TestLockDirSerialisesWritersOfADirectoryStore(t *testing.T) {
	dir := t.TempDir()
	unlock, err := storelock.LockDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// The same directory by another spelling is the same lock.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if _, err := storelock.LockDir(ctx, filepath.Join(dir, ".", "")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second LockDir = %v, want to wait", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel2()
	if _, err := storelock.LockDir(ctx2, link); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockDir through a symlink = %v, want to wait", err)
	}
	unlock()
	u, err := storelock.LockDir(context.Background(), link)
	if err != nil {
		t.Fatal(err)
	}
	u()
	// Locking the directory writes nothing into it.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the store directory holds %v", entries)
	}
}

func TestLockRefusesUnsafeLockFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "elsewhere")
	path := storelock.Path(dir, "s3://bucket/p")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if _, err := storelock.Lock(context.Background(), path); err == nil {
		t.Fatal("a symlinked lock file was followed")
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the symlink's target was created")
	}
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := storelock.Lock(context.Background(), storelock.Path(open, "s3://bucket/p")); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Fatalf("a lock directory others may write to: %v", err)
	}
}
