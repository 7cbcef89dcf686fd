//go:build unix

package pgcluster

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// serverUser is the system account the server runs as when the caller is root.
const serverUser = "postgres"

// account is the system user the server runs as: the caller's own, or serverUser when the caller is
// root.
type account struct {
	switchUser bool
	uid, gid   uint32
}

func serverAccount() (account, error) {
	if os.Geteuid() != 0 {
		return account{}, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return account{}, fmt.Errorf("pgcluster: running as root, and PostgreSQL refuses to run as root; "+
			"there is no %q system user to run it as (create one, e.g. `useradd --system %s`, "+
			"or run as an ordinary user): %w", serverUser, serverUser, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return account{}, fmt.Errorf("pgcluster: user %q has a non-numeric uid or gid", serverUser)
	}
	return account{switchUser: true, uid: uint32(uid), gid: uint32(gid)}, nil
}

// baseDir is where cluster directories go: the system temporary directory, unless the server runs
// as another user who could not reach it (say TMPDIR is a root-only directory), then /tmp.
func (a account) baseDir() string {
	dir := os.TempDir()
	if a.switchUser && !traversableByAll(dir) {
		return "/tmp"
	}
	return dir
}

// traversableByAll reports whether every directory from dir up to the root lets any user pass.
func traversableByAll(dir string) bool {
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// own hands dir to the server's account.
func (a account) own(dir string) error {
	if !a.switchUser {
		return nil
	}
	if err := os.Chown(dir, int(a.uid), int(a.gid)); err != nil {
		return fmt.Errorf("pgcluster: hand %s to user %q: %w", dir, serverUser, err)
	}
	return nil
}

// procAttr runs a command as the account, in its own process group (so a Ctrl-C in the terminal
// reaches Vigil, which then stops the server in order), and — for the long-running server — tied to
// this process's life.
func (a account) procAttr(tied bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if a.switchUser {
		attr.Credential = &syscall.Credential{Uid: a.uid, Gid: a.gid, NoSetGroups: true}
	}
	if tied {
		setParentDeathSignal(attr)
	}
	return attr
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

// isPostgres reports whether pid is a PostgreSQL server, so that a recycled pid is never killed.
func isPostgres(pid int) bool {
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return false
	}
	return string(comm) == "postgres\n"
}

func killProcess(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }

// stopProcess asks the server for a fast shutdown (SIGINT) and kills it if it has not exited within
// grace.
func stopProcess(p *os.Process, exited <-chan struct{}, grace time.Duration) error {
	select {
	case <-exited:
		return nil
	default:
	}
	_ = p.Signal(syscall.SIGINT)
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
	}
	_ = p.Kill()
	<-exited
	return fmt.Errorf("pgcluster: postgres did not stop within %s and was killed", grace)
}
