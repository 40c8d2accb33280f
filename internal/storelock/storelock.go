// Package storelock makes the changeproof processes of one host take turns
// writing to a store. Appending to a hash chain reads its head and then
// writes after it; two writers doing that at once (a daemon and an ad hoc
// `collect --job`, two overlapping `run --once`, two jobs of one daemon
// sharing a chain) would fork the chain, which create-only storage can
// never repair. An exclusive advisory lock (flock) serialises them, also
// within one process: each Lock opens the file anew, and flock locks
// belong to the open file.
//
// A directory store is locked on its own directory, which every user and
// every spelling of its path share. A bucket is locked on a file named
// after the bucket, prefix and endpoint in a state directory, which the
// writers of one host must share (as they share the spool).
//
// It does not coordinate processes on different hosts: run one scheduler
// per store.
package storelock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// poll is how often a waiting Lock tries again.
const poll = 50 * time.Millisecond

// Path is the lock file under dir for the store named by identity (see
// the package documentation).
func Path(dir, identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return filepath.Join(dir, hex.EncodeToString(sum[:12])+".lock")
}

// Lock takes the exclusive lock on the file at path, waiting for it until
// ctx is done. The file (0600) and its directory (0700) are created if
// needed; a lock file that is a symbolic link or not the user's own, or a
// directory others may write to, is refused. unlock releases the lock (and
// may be called again).
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	if err := checkDir(dir); err != nil {
		return nil, fmt.Errorf("store lock directory %s: %w", dir, err)
	}
	f, err := openLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("store lock %s: %w", path, err)
	}
	return wait(ctx, f, path)
}

// LockDir takes the exclusive lock on the directory dir itself (a
// directory store), waiting for it until ctx is done.
func LockDir(ctx context.Context, dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("store lock: %s is not a directory", dir)
	}
	return wait(ctx, f, dir)
}

func wait(ctx context.Context, f *os.File, what string) (func(), error) {
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("store lock %s: %w", what, err)
		}
		if ok {
			return sync.OnceFunc(func() { unlockFile(f); f.Close() }), nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the store lock %s (another changeproof is writing to the store): %w", what, context.Cause(ctx))
		case <-time.After(poll):
		}
	}
}

var errNotOwn = errors.New("not owned by this user, or writable by others")
