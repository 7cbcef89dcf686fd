package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func httpGet(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// TestDemoEndToEnd starts the real demo wiring — its own PostgreSQL, migrations, seeding, server —
// on port 0, checks what an operator and a first-time user see, and that Ctrl-C cleans up.
func TestDemoEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, demoOptions{Addr: "127.0.0.1:0", Log: quiet, Ready: func(u string, _ *app) { urls <- u }}, &out)
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("demo stopped before serving: %v", err)
	case <-time.After(90 * time.Second):
		t.Fatal("demo did not start within 90s")
	}

	if code, _, body := httpGet(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %s", code, body)
	}
	if code, _, _ := httpGet(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	code, _, body := httpGet(t, base+"/")
	if code != http.StatusOK || !strings.Contains(body, "Demo accounts") || !strings.Contains(body, "nurse.kim") {
		t.Errorf("landing page = %d:\n%s", code, body)
	}
	code, header, body := httpGet(t, base+"/metrics")
	if code != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(body, "# TYPE vigil_http_requests_total counter") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d %s:\n%.500s", code, header.Get("Content-Type"), body)
	}
	for _, want := range []string{base, "nurse.kim", "pat.rivera", "Ctrl-C"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo banner lacks %q:\n%s", want, out.String())
		}
	}
	dir := clusterDir(out.String())

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop within 30s of Ctrl-C")
	}
	if dir == "" {
		t.Fatalf("banner does not name the private database's directory:\n%s", out.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the demo's PostgreSQL directory %s is still there (%v)", dir, err)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
		t.Error("the demo still accepts connections after stopping")
	}
}

// clusterDir finds "a private PostgreSQL in DIR (removed on exit)" in the banner.
func clusterDir(banner string) string {
	_, rest, ok := strings.Cut(banner, "a private PostgreSQL in ")
	if !ok {
		return ""
	}
	dir, _, _ := strings.Cut(rest, " ")
	return dir
}

func serveConfig(t *testing.T, databaseURL string, migrate bool) config {
	t.Helper()
	env := map[string]string{
		"VIGIL_DATABASE_URL": databaseURL, "VIGIL_ADDR": "127.0.0.1:0", "VIGIL_BASE_URL": "https://vigil.example.org",
		"VIGIL_OIDC_ISSUER": "https://login.example.org", "VIGIL_OIDC_CLIENT_ID": "vigil", "VIGIL_OIDC_CLIENT_SECRET": "s",
	}
	if migrate {
		env["VIGIL_MIGRATE_ON_START"] = "true"
	}
	cfg, err := loadConfig(func(k string) string { return env[k] }, true)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestServeRefusesASchemaThatIsBehind(t *testing.T) {
	listened := false
	err := serve(context.Background(), serveConfig(t, storetest.EmptyURL(t), false), quiet, func(net.Addr) { listened = true })
	if err == nil || !strings.Contains(err.Error(), "vigil migrate") || !strings.Contains(err.Error(), "version 0") {
		t.Errorf("serve on an unmigrated database = %v, want a refusal that says to run vigil migrate", err)
	}
	if listened {
		t.Error("serve listened although the schema is behind")
	}
}

func TestServeMigratesOnStartWhenTold(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, serveConfig(t, storetest.EmptyURL(t), true), quiet, func(a net.Addr) { addrs <- a })
	}()
	select {
	case addr := <-addrs:
		if code, _, body := httpGet(t, "http://"+addr.String()+"/readyz"); code != http.StatusOK {
			t.Errorf("/readyz = %d %s", code, body)
		}
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v after shutdown", err)
	}
}

func TestMigrateCommand(t *testing.T) {
	url := storetest.EmptyURL(t)
	env := func(k string) string { return map[string]string{"VIGIL_DATABASE_URL": url}[k] }
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"migrate"}, env, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "from version 0 to") {
		t.Errorf("first migrate said %q", out.String())
	}
	out.Reset()
	run(context.Background(), []string{"migrate"}, env, &out, &errOut)
	if !strings.Contains(out.String(), "already current") {
		t.Errorf("second migrate said %q", out.String())
	}
}

// TestBuiltinProviderOnlyWhenAskedFor: serve mounts the demo provider only under the deliberately
// named setting, and then says loudly that it is unsafe.
func TestBuiltinProviderOnlyWhenAskedFor(t *testing.T) {
	for _, builtin := range []bool{false, true} {
		cfg := serveConfig(t, storetest.URL(t), false)
		cfg.BuiltinProvider = builtin
		ctx, cancel := context.WithCancel(context.Background())
		var logs bytes.Buffer
		addrs := make(chan net.Addr, 1)
		done := make(chan error, 1)
		go func() {
			done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), func(a net.Addr) { addrs <- a })
		}()
		var addr net.Addr
		select {
		case addr = <-addrs:
		case err := <-done:
			cancel()
			t.Fatalf("serve: %v", err)
		}
		code, _, _ := httpGet(t, "http://"+addr.String()+"/oidc/.well-known/openid-configuration")
		cancel()
		<-done
		if builtin && (code != http.StatusOK || !strings.Contains(logs.String(), "UNSAFE")) {
			t.Errorf("with the setting: discovery %d, warning logged: %v", code, strings.Contains(logs.String(), "UNSAFE"))
		}
		if !builtin && (code != http.StatusNotFound || strings.Contains(logs.String(), "UNSAFE")) {
			t.Errorf("without the setting: discovery answered %d", code)
		}
	}
}
