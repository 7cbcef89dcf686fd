package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/storetest"
)

// TestEveryAcknowledgedReadingSurvivesAKill: the real vigil binary is killed with SIGKILL in the
// middle of a stream of posts; after a restart, every reading that was answered 200 is stored,
// exactly once.
func TestEveryAcknowledgedReadingSurvivesAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "vigil")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	url := storetest.URL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tokens := crashDevices(t, st, 6)
	addr := freeAddr(t)
	env := append(os.Environ(), "VIGIL_DATABASE_URL="+url, "VIGIL_ADDR="+addr, "VIGIL_BASE_URL=http://"+addr,
		"VIGIL_INSECURE_BUILTIN_PROVIDER=true", "VIGIL_LOG_LEVEL=error", "VIGIL_DEVICE_RATE_LIMIT=100000",
		"VIGIL_DEVICE_RATE_BURST=100000")

	first := startBinary(t, bin, env, addr)
	var mu sync.Mutex
	acknowledged := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for d, token := range tokens {
		wg.Go(func() {
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ids := []string{fmt.Sprintf("k%d-%d-a", d, i), fmt.Sprintf("k%d-%d-b", d, i)}
				if postPair(client, addr, token, ids) {
					mu.Lock()
					acknowledged[ids[0]], acknowledged[ids[1]] = true, true
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(time.Second)
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(acknowledged) < 20 {
		t.Fatalf("only %d readings acknowledged before the kill", len(acknowledged))
	}

	second := startBinary(t, bin, env, addr)
	defer func() { second.Process.Signal(syscall.SIGTERM); second.Wait() }()
	counts := map[string]int{}
	readings, err := st.Readings(ctx, patientOfDevices(t, st), "", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readings {
		counts[r.DeviceReadingID]++
	}
	for id := range acknowledged {
		if counts[id] != 1 {
			t.Errorf("acknowledged reading %s stored %d times", id, counts[id])
		}
	}
	t.Logf("%d readings acknowledged before SIGKILL; %d stored", len(acknowledged), len(readings))
	if !postPair(&http.Client{Timeout: 5 * time.Second}, addr, tokens[0], []string{"after-1", "after-2"}) {
		t.Error("the restarted binary does not take readings")
	}
}

// crashDevices seeds the demo hospital and puts n new devices on its first patient.
func crashDevices(t *testing.T, st *store.Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	if err := st.SeedDemo(ctx, demo.New(), "http://issuer.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	patient := patientOfDevices(t, st)
	var tokens []string
	for i := range n {
		token, hash := auth.NewDeviceToken()
		id, err := st.ProvisionDevice(ctx, rpm.Device{Serial: fmt.Sprintf("CRASH-%d", i), Vendor: "Test", Kind: rpm.KindWearable}, hash)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AssignDevice(ctx, id, patient, "", time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, token)
	}
	return tokens
}

// patientOfDevices is the demo patient the crash test's devices are on: the first in the list.
func patientOfDevices(t *testing.T, st *store.Store) string {
	t.Helper()
	users, err := st.Users(context.Background(), rpm.RolePatient)
	if err != nil || len(users) == 0 {
		t.Fatal("no patient account", err)
	}
	p, err := st.PatientOfUser(context.Background(), users[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func postPair(client *http.Client, addr, token string, ids []string) bool {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	body, _ := json.Marshal(map[string]any{"readings": []map[string]any{
		{"id": ids[0], "code": "8867-4", "value": 71, "unit": "/min", "at": now},
		{"id": ids[1], "code": "59408-5", "value": 96, "unit": "%", "at": now},
	}})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/readings", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var res struct{ Accepted, Duplicates int }
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&res) == nil && res.Accepted+res.Duplicates == 2
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startBinary(t *testing.T, bin string, env []string, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatalf("vigil serve did not become ready:\n%s", stderr.String())
	return nil
}
