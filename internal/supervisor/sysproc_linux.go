package supervisor

import "syscall"

// sysProcAttr asks Linux to send SIGTERM to the Python process if the host dies: a second guard
// next to the bootstrap pipe, whose EOF the Python runtime watches. SIGTERM, not SIGKILL, so
// plugin code that handles SIGTERM can clean up; the runtime's EOF watchdog exits hard soon after.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
