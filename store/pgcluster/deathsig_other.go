//go:build unix && !linux

package pgcluster

import "syscall"

// setParentDeathSignal does nothing where the kernel has no parent-death signal; a server left by a
// killed process is then removed by the next Start's sweep.
func setParentDeathSignal(*syscall.SysProcAttr) {}
