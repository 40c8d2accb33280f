package cli

import "context"

// SetHostLockForTest replaces the store's host lock of `run` in this
// process (see hostLock).
func SetHostLockForTest(lock func(context.Context) (func(), error)) { hostLock = lock }

// SetClaimHostForTest replaces the host name in this process's claims (see
// claimHost).
func SetClaimHostForTest(host string) { claimHost = host }
