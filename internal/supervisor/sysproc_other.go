//go:build !linux

package supervisor

import "syscall"

// sysProcAttr: only Linux has a parent-death signal; elsewhere the bootstrap pipe's EOF is the
// only way the Python process learns that the host died.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
