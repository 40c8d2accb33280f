//go:build !unix

package storelock

import "os"

// Without flock the lock is not taken: one writer per store is then up to
// the operator.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlockFile(*os.File) {}

func checkDir(string) error { return nil }

func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
