// Package storelock makes the changeproof processes of one host take turns
// writing to a store. Appending to a hash chain reads its head and then
// writes after it; two writers doing that at once (a daemon and an ad hoc
// `collect --job`, two overlapping `run --once`, two jobs of one daemon
// sharing a chain) would fork the chain, which create-only storage can
// never repair. An exclusive advisory lock (flock) on a file named after
// the store serialises them, also within one process: each Lock opens the
// file anew, and flock locks belong to the open file.
//
// It does not coordinate processes on different hosts: run one scheduler
// per store.
package storelock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// poll is how often a waiting Lock tries again.
const poll = 50 * time.Millisecond

// Path is the lock file for the store at storeURL under dir.
func Path(dir, storeURL string) string {
	sum := sha256.Sum256([]byte(storeURL))
	return filepath.Join(dir, hex.EncodeToString(sum[:12])+".lock")
}

// Lock takes the exclusive lock on the file at path, creating the file
// (0600) and its directory (0700) if needed, and waits for it until ctx is
// done. unlock releases it.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store lock: %w", err)
	}
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("store lock %s: %w", path, err)
		}
		if ok {
			return func() { unlockFile(f); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the store lock %s (another changeproof is writing to the store): %w", path, context.Cause(ctx))
		case <-time.After(poll):
		}
	}
}
