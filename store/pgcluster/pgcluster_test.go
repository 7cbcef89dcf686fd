package pgcluster

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func startCluster(t *testing.T) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), Options{})
	if errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStartQueryStop runs as whoever runs the tests: as root the server must run as the postgres
// user; as an ordinary user, as that user.
func TestStartQueryStop(t *testing.T) {
	c := startCluster(t)
	dir := c.Dir()
	if !strings.HasPrefix(dir, os.TempDir()) {
		t.Errorf("cluster directory %s is not directly under the system temporary directory", dir)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	var serverUser string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&serverUser); err != nil {
		t.Fatal(err)
	}
	if serverUser != Superuser {
		t.Errorf("connected as %q, want %q", serverUser, Superuser)
	}
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil {
		t.Fatal(err)
	}
	if fsync != "off" {
		t.Errorf("fsync = %s on a throw-away cluster, want off", fsync)
	}
	conn.Close(ctx)

	owner := fileOwner(t, filepath.Join(dir, "data"))
	wantOwner := os.Geteuid()
	if wantOwner == 0 {
		wantOwner = lookupUID(t, serverUser)
	}
	if owner != wantOwner {
		t.Errorf("data directory owned by uid %d, want %d", owner, wantOwner)
	}

	pid := c.cmd.Process.Pid
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory still there after Stop: %v", err)
	}
	if processAlive(pid) {
		t.Errorf("postgres (pid %d) still running after Stop", pid)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestAsOrdinaryUser runs TestStartQueryStop again as an unprivileged user when the suite runs as
// root, so both paths are exercised on every run.
func TestAsOrdinaryUser(t *testing.T) {
	if os.Getenv("PGCLUSTER_CHILD") != "" {
		t.Skip("already the child")
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: TestStartQueryStop already ran as an ordinary user")
	}
	if _, err := FindBinaries(); err != nil {
		t.Skip(err)
	}
	uid := lookupUID(t, serverUser)
	gid := lookupGID(t, serverUser)

	// The test binary usually sits in a root-only build directory; copy it where the user can run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "vigil-pgcluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "pgcluster.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-test.run=^TestStartQueryStop$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PGCLUSTER_CHILD=1", "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as user %s: %v\n%s", serverUser, err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestStartQueryStop") {
		t.Fatalf("as user %s the test did not pass:\n%s", serverUser, out)
	}
}

// TestSweepRemovesLeftovers: a directory whose owning process is gone is removed, together with a
// server still running in it; a directory whose owner lives is left alone.
func TestSweepRemovesLeftovers(t *testing.T) {
	orphan := startCluster(t)
	defer orphan.Stop()
	// Pretend the owner died: point owner.pid at a process that has exited.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	writePID(t, filepath.Join(orphan.Dir(), "owner.pid"), dead.Process.Pid)

	alive := startCluster(t)
	defer alive.Stop()

	Sweep()

	if _, err := os.Stat(orphan.Dir()); !os.IsNotExist(err) {
		t.Errorf("orphaned cluster directory not swept: %v", err)
	}
	select {
	case <-orphan.exited:
	case <-time.After(10 * time.Second):
		t.Error("orphaned server still running after Sweep")
	}
	if _, err := os.Stat(alive.Dir()); err != nil {
		t.Errorf("a live cluster was swept: %v", err)
	}
}

// TestServerDiesWithItsParent: when the process that started a cluster is killed outright, the
// kernel takes the server down with it.
func TestServerDiesWithItsParent(t *testing.T) {
	if os.Getenv("PGCLUSTER_ORPHAN") != "" {
		c := startCluster(t)
		os.Stdout.WriteString("PID " + strconv.Itoa(c.cmd.Process.Pid) + "\n")
		time.Sleep(time.Minute) // killed by the parent test long before
		return
	}
	if _, err := FindBinaries(); err != nil {
		t.Skip(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestServerDiesWithItsParent$")
	cmd.Env = append(os.Environ(), "PGCLUSTER_ORPHAN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	line := strings.TrimSpace(string(buf[:n]))
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "PID "))
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("child said %q", line)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for isPostgres(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if isPostgres(pid) {
		killProcess(pid)
		t.Fatalf("postgres (pid %d) outlived the process that started it", pid)
	}
	Sweep()
}

// TestRootAvoidsUnreachableTempDir: as root with TMPDIR set to a root-only directory (as
// t.TempDir() is), the cluster still starts, in a place the postgres user can reach.
func TestRootAvoidsUnreachableTempDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the server to another user")
	}
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", private)
	c := startCluster(t)
	defer c.Stop()
	if strings.HasPrefix(c.Dir(), private) {
		t.Errorf("cluster directory %s is under the root-only %s", c.Dir(), private)
	}
}

func TestDurableKeepsCrashSafety(t *testing.T) {
	c, err := Start(context.Background(), Options{Durable: true, Settings: map[string]string{"work_mem": "8MB"}})
	if errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for name, want := range map[string]string{"fsync": "on", "synchronous_commit": "on", "work_mem": "8MB"} {
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
}

func TestNoBinariesSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := findBinaries(filepath.Join(t.TempDir(), "*", "bin"))
	if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Errorf("error %q does not say what to install", err)
	}
}

func fileOwner(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

func lookupUID(t *testing.T, name string) int {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Skipf("no %s user: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	return uid
}

func lookupGID(t *testing.T, name string) int {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Skipf("no %s user: %v", name, err)
	}
	gid, _ := strconv.Atoi(u.Gid)
	return gid
}

func writePID(t *testing.T, path string, pid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPauseAndResumeKeepTheData(t *testing.T) {
	c := startCluster(t)
	defer c.Stop()
	ctx := context.Background()
	exec1 := func(sql string) error {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec1("CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := exec1("SELECT 1"); err == nil {
		t.Fatal("a paused server answered")
	}
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := exec1("SELECT x FROM kept"); err != nil {
		t.Errorf("after resume: %v", err)
	}
}
