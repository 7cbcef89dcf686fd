package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// jsonRequest sends JSON with the session's CSRF token and decodes the answer into out.
func (b *browser) jsonRequest(method, path, token string, body, out any) int {
	b.t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, b.abs(path), bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", token)
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		json.Unmarshal(data, out)
	}
	return resp.StatusCode
}

// TestProvisionAssignPost is the fleet's whole path: an admin provisions a device through the API,
// a nurse assigns it to a patient, the device posts with its token, and the readings appear for
// that patient only; a bad reading is refused with its reason while the good one is kept.
func TestProvisionAssignPost(t *testing.T) {
	d := startDemo(t)
	admin, kim, lee := d.browser(t), d.browser(t), d.browser(t)
	adminToken := csrfToken(t, admin.signIn("admin", "vigil-demo").body)
	kimToken := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	lee.signIn("nurse.lee", "vigil-demo")

	var created struct{ ID, Token string }
	if code := admin.jsonRequest(http.MethodPost, "/api/v1/devices", adminToken,
		map[string]string{"serial": "OX-777", "vendor": "Acme", "model": "Ox 1", "kind": "pulse_oximeter"}, &created); code != http.StatusCreated || created.Token == "" {
		t.Fatalf("provision: %d %+v", code, created)
	}
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/devices", kimToken, map[string]string{"serial": "X", "vendor": "Y", "kind": "scale"}, nil); code != http.StatusNotFound {
		t.Errorf("a nurse provisioned a device: %d", code)
	}
	nakamura := d.patientID(t, "H1000002")
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/patients/"+nakamura+"/devices", kimToken, map[string]string{"device_id": created.ID}, nil); code != http.StatusCreated {
		t.Fatalf("assign: %d", code)
	}
	if code := kim.jsonRequest(http.MethodPost, "/api/v1/patients/"+d.patientID(t, "H1000003")+"/devices", kimToken, map[string]string{"device_id": created.ID}, nil); code != http.StatusConflict {
		t.Errorf("the same device on a second patient: %d", code)
	}

	now := time.Now().UTC().Format(time.RFC3339Nano) // taken after the assignment began
	body, _ := json.Marshal(map[string]any{"readings": []map[string]any{
		{"id": "ox-1", "code": "59408-5", "value": 94, "unit": "%", "at": now},
		{"id": "ox-2", "code": "59408-5", "value": 940, "unit": "%", "at": now},
	}, "status": map[string]any{"battery": 0.5, "firmware": "1.2.3", "signal_dbm": -60}})
	req, _ := http.NewRequest(http.MethodPost, d.base+"/api/v1/readings", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+created.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Accepted int
		Rejected []struct {
			Index  int
			Reason string
		}
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || res.Accepted != 1 || len(res.Rejected) != 1 || res.Rejected[0].Reason != "implausible_value" || res.Rejected[0].Index != 1 {
		t.Fatalf("post: %d %+v", resp.StatusCode, res)
	}

	var readings struct {
		Readings []struct {
			Code  string
			Value float64
		}
	}
	kim.jsonRequest(http.MethodGet, "/api/v1/patients/"+nakamura+"/readings?code=59408-5", "", nil, &readings)
	if len(readings.Readings) != 1 || readings.Readings[0].Value != 94 {
		t.Errorf("the patient's readings: %+v", readings)
	}
	var other struct{ Readings []any }
	kim.jsonRequest(http.MethodGet, "/api/v1/patients/"+d.patientID(t, "H1000003")+"/readings?code=59408-5", "", nil, &other)
	if len(other.Readings) != 0 {
		t.Errorf("another patient has the device's readings: %+v", other)
	}
	if code := lee.jsonRequest(http.MethodGet, "/api/v1/patients/"+nakamura+"/readings", "", nil, nil); code != http.StatusNotFound {
		t.Errorf("nurse.lee read a cardiology patient's readings: %d", code)
	}
	page := kim.get("/patients/" + nakamura)
	if !strings.Contains(page.body, "OX-777") || !strings.Contains(page.body, "94 %") {
		t.Errorf("the patient page lacks the device or its reading")
	}
	fleet := admin.get("/admin/devices?kind=pulse_oximeter")
	if !strings.Contains(fleet.body, "OX-777") || strings.Contains(fleet.body, "Nakamura") {
		t.Errorf("the fleet page lacks the device, or names its patient")
	}
}

// TestSimulatedDevicesFeedTheDemo: the demo's simulator and `vigil simulate --provision` both get
// readings stored.
func TestSimulatedDevicesFeedTheDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := storeURL(t)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, demoOptions{Addr: "127.0.0.1:0", DatabaseURL: url, Simulate: true, SimInterval: 50 * time.Millisecond, Log: quiet,
			Ready: func(u string, _ *app) { ready <- u }}, io.Discard)
	}()
	base := <-ready
	conn := connect(t, url)
	countReadings := func(vendor string) int {
		var n int
		conn.QueryRow(context.Background(), `
			SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id
			WHERE d.vendor = $1 AND r.device_reading_id NOT LIKE 'bf-%'`, vendor).Scan(&n) // posted, not the demo's history
		return n
	}
	waitFor(t, 15*time.Second, func() bool { return countReadings("Vigil Demo Devices") > 20 }, "demo devices' readings")

	var out, errOut bytes.Buffer
	env := func(k string) string { return map[string]string{"VIGIL_DATABASE_URL": url}[k] }
	code := run(context.Background(), []string{"simulate", "--url", base, "--provision", "3", "--interval", "50ms", "--duration", "2s"}, env, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "accepted") {
		t.Fatalf("simulate: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if n := countReadings("Vigil Simulator"); n == 0 {
		t.Errorf("vigil simulate stored no readings:\n%s", out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("demo: %v", err)
	}
}
