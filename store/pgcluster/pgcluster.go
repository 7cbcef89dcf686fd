// Package pgcluster starts a private, throw-away PostgreSQL server from the PostgreSQL binaries
// installed on the machine. `vigil demo`, `vigil bench` and the test suite use it when no database
// URL is given.
//
// The server listens only on a Unix socket inside its own 0700 directory, so no port can clash and no
// other local user can connect; it trusts connections on that socket. It is killed by the kernel if
// the process that started it dies, and Stop removes everything it wrote. Directories left behind by
// a process that was killed are swept by the next Start.
//
// PostgreSQL refuses to run as root. When the caller is root, the server runs as the "postgres" system
// user, and its directory is created directly under the system temporary directory (not under a
// root-only directory such as t.TempDir()) so that user can reach it.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// dirPrefix names the directories this package creates under the system temporary directory.
const dirPrefix = "vigil-pg-"

// Superuser is the name of the cluster's superuser role.
const Superuser = "postgres"

const (
	startTimeout = 60 * time.Second
	stopTimeout  = 15 * time.Second
)

// ErrNoBinaries is returned by Start when no PostgreSQL server binaries can be found. Its text says
// what to install.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) found on PATH or under " +
	"/usr/lib/postgresql/*/bin: install PostgreSQL (Debian/Ubuntu: apt-get install postgresql; " +
	"Fedora: dnf install postgresql-server; macOS: brew install postgresql@16)")

// Options tunes a cluster. The zero value is a fast cluster for tests and demos.
type Options struct {
	// Durable keeps PostgreSQL's crash-safety settings (fsync, synchronous_commit, full_page_writes)
	// on, as a benchmark needs. Otherwise they are off: a throw-away cluster need not survive a crash.
	Durable bool
	// Settings are extra server settings (name → value), e.g. "shared_buffers": "256MB".
	Settings map[string]string
	// Log receives the server's own log. Nil discards it.
	Log io.Writer
}

// Cluster is a running private PostgreSQL server. Stop it when done.
type Cluster struct {
	dir     string // owns everything: data/, the socket, owner.pid
	account account
	bin     string   // directory of the server binaries
	args    []string // the server's command line, for Resume
	log     io.Writer
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the server process has exited
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// Start creates and starts a new cluster. It first sweeps directories left by earlier runs whose
// owning process is gone. It returns ErrNoBinaries (wrapped) when PostgreSQL is not installed.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	acct, err := serverAccount()
	if err != nil {
		return nil, err
	}
	Sweep()
	dir, err := os.MkdirTemp(acct.baseDir(), dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: create directory: %w", err)
	}
	c := &Cluster{dir: dir, account: acct, bin: bin, exited: make(chan struct{})}
	if err := c.start(ctx, bin, opts); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, bin string, opts Options) error {
	if err := os.WriteFile(filepath.Join(c.dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("pgcluster: write owner file: %w", err)
	}
	if err := c.account.own(c.dir); err != nil {
		return err
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"--pgdata", c.dataDir(), "--username", Superuser, "--auth", "trust",
		"--encoding", "UTF8", "--locale", "C", "--no-sync")
	initdb.Stdout, initdb.Stderr = logw, logw
	initdb.Dir = c.dir
	initdb.SysProcAttr = c.account.procAttr(false)
	if out, err := initdbOutput(initdb, opts.Log == nil); err != nil {
		return fmt.Errorf("pgcluster: initdb failed: %w\n%s", err, out)
	}
	c.args = []string{"-D", c.dataDir(), "-k", c.dir, "-c", "listen_addresses="}
	for name, value := range serverSettings(opts) {
		c.args = append(c.args, "-c", name+"="+value)
	}
	c.log = logw
	return c.startServer(ctx)
}

// startServer starts the server process on the existing data directory and waits until it answers.
func (c *Cluster) startServer(ctx context.Context) error {
	c.exited = make(chan struct{})
	c.cmd = exec.Command(filepath.Join(c.bin, "postgres"), c.args...)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	c.cmd.Dir = c.dir
	c.cmd.SysProcAttr = c.account.procAttr(true)
	if err := c.launch(); err != nil {
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	return c.waitReady(ctx)
}

// Pause stops the server (fast shutdown) but keeps its data, as a database outage would; Resume
// starts it again. For tests of how Vigil behaves while its database is away.
func (c *Cluster) Pause() error {
	return stopProcess(c.cmd.Process, c.exited, stopTimeout)
}

// Resume starts a paused server again, on the same socket and data.
func (c *Cluster) Resume(ctx context.Context) error { return c.startServer(ctx) }

// launch starts the server from a goroutine locked to its OS thread for the server's whole life:
// the kernel's parent-death signal fires when the *thread* that forked the child ends, and Go may
// otherwise retire that thread while this process is still running.
func (c *Cluster) launch() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := c.cmd.Start(); err != nil {
			started <- err
			close(c.exited)
			return
		}
		started <- nil
		c.waitErr = c.cmd.Wait()
		close(c.exited)
	}()
	return <-started
}

// initdbOutput runs initdb; when its output is otherwise discarded it is captured so that a failure
// can say why.
func initdbOutput(cmd *exec.Cmd, capture bool) ([]byte, error) {
	if !capture {
		return nil, cmd.Run()
	}
	cmd.Stdout, cmd.Stderr = nil, nil
	return cmd.CombinedOutput()
}

func serverSettings(opts Options) map[string]string {
	s := map[string]string{
		"max_connections":         "200",
		"shared_buffers":          "128MB",
		"unix_socket_permissions": "0700",
		"log_min_messages":        "warning",
		"log_min_error_statement": "panic",
		"timezone":                "UTC",
	}
	if !opts.Durable {
		s["fsync"] = "off"
		s["synchronous_commit"] = "off"
		s["full_page_writes"] = "off"
	}
	for k, v := range opts.Settings {
		s[k] = v
	}
	return s
}

func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-c.exited:
			return fmt.Errorf("pgcluster: postgres exited during start-up: %v", c.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: postgres not ready after %s: %w", startTimeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

// URL returns a connection URL for database name on this cluster, as the superuser.
func (c *Cluster) URL(database string) string {
	q := url.Values{"host": {c.dir}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(Superuser), Path: "/" + database, RawQuery: q.Encode()}).String()
}

// Dir is the cluster's directory (its data directory and socket live inside).
func (c *Cluster) Dir() string { return c.dir }

// ServerPID is the process id of the server (the postmaster, whose children are its backends and
// workers), for measuring the server's CPU.
func (c *Cluster) ServerPID() int { return c.cmd.Process.Pid }

// Stop shuts the server down (fast shutdown, then SIGKILL after a grace period) and removes its
// directory. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		if c.cmd != nil && c.cmd.Process != nil {
			c.stopErr = stopProcess(c.cmd.Process, c.exited, stopTimeout)
		}
		if err := os.RemoveAll(c.dir); err != nil && c.stopErr == nil {
			c.stopErr = fmt.Errorf("pgcluster: remove %s: %w", c.dir, err)
		}
	})
	return c.stopErr
}

// Sweep removes the directories of clusters whose owning process no longer runs, first killing any
// server still running in them. Errors are ignored: sweeping is best effort.
func Sweep() {
	acct, err := serverAccount()
	if err != nil {
		return
	}
	dirs, _ := filepath.Glob(filepath.Join(acct.baseDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		owner, err := readPID(filepath.Join(dir, "owner.pid"))
		if err == nil && processAlive(owner) {
			continue
		}
		if err != nil && !olderThan(dir, time.Minute) {
			continue // being created right now by another process
		}
		if pid, err := readPID(filepath.Join(dir, "data", "postmaster.pid")); err == nil && isPostgres(pid) {
			killProcess(pid)
		}
		os.RemoveAll(dir)
	}
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

func olderThan(path string, age time.Duration) bool {
	fi, err := os.Stat(path)
	return err == nil && time.Since(fi.ModTime()) > age
}

// FindBinaries returns the directory holding initdb and postgres: the one on PATH if any, otherwise
// the newest /usr/lib/postgresql/N/bin. It returns ErrNoBinaries when there is none.
func FindBinaries() (string, error) { return findBinaries("/usr/lib/postgresql/*/bin") }

func findBinaries(versionedDirs string) (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(versionedDirs)
	best, bestVersion := "", -1
	for _, dir := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		if err == nil && v > bestVersion && isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			best, bestVersion = dir, v
		}
	}
	if best == "" {
		return "", ErrNoBinaries
	}
	return best, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}
