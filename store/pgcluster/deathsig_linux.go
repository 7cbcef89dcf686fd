package pgcluster

import "syscall"

// setParentDeathSignal has the kernel kill the server if this process dies without stopping it.
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
