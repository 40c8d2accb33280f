package cli

import "context"

// SetHostLockForTest replaces the store's host lock of `run` in this
// process (see hostLock).
func SetHostLockForTest(lock func(context.Context) (func(), error)) { hostLock = lock }
