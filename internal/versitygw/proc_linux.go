package versitygw

import "syscall"

// sysProcAttr makes the kernel kill the server if the test process dies
// first, so a crashed or timed-out test leaves no server behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
