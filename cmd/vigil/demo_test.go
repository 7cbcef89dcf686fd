package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/ingest/devicesim"
	"github.com/vigil-rpm/vigil/rpm"
)

// TestDemoPatientsHaveEveryNEWS2Parameter: every demo patient's devices, as the simulator runs
// them, measure the five NEWS2 parameters a device can, so no demo NEWS2 is partial for want of a
// device.
func TestDemoPatientsHaveEveryNEWS2Parameter(t *testing.T) {
	news2 := []string{rpm.CodeRespRate, rpm.CodeSpO2, rpm.CodeSystolicBP, rpm.CodeHeartRate, rpm.CodeBodyTemp}
	for _, p := range demo.New().Patients {
		var measured []string
		for _, d := range p.Devices {
			measured = append(measured, devicesim.KindMetrics(d.Kind)...)
		}
		for _, code := range news2 {
			if !slices.Contains(measured, code) {
				t.Errorf("demo patient %s has no device measuring %s", p.MRN, code)
			}
		}
	}
}

var backfilledLine = regexp.MustCompile(`Backfilled 30 days: (\d+) readings in [0-9.]+ s`)

// startDemoFor starts the simulating demo on url, with continuous devices that wait an hour before
// their first post, and returns what it printed once it serves, its app, and its stop.
func startDemoFor(t *testing.T, url string) (string, *app, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	ready := make(chan *app, 1)
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, demoOptions{Addr: "127.0.0.1:0", DatabaseURL: url, Simulate: true, SimInterval: time.Hour, Log: quiet,
			Ready: func(_ string, a *app) { ready <- a }}, &out)
	}()
	select {
	case a := <-ready:
		return out.String(), a, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("demo: %v", err)
			}
		}
	case err := <-done:
		cancel()
		t.Fatalf("demo stopped: %v", err)
	case <-time.After(120 * time.Second):
		cancel()
		t.Fatal("demo did not start")
	}
	return "", nil, nil
}

// TestDemoStoresThirtyDaysOfHistory: before its devices post, the demo stores their last 30 days —
// a 30-day chart has data 29 days back, spot-check devices measured at their times of day, and
// history raised no alert — and a second start on the same database adds only what is missing.
func TestDemoStoresThirtyDaysOfHistory(t *testing.T) {
	url := storeURL(t)
	before := time.Now()
	out, a, stop := startDemoFor(t, url)
	m := backfilledLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo did not report its history:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n < 100_000 {
		t.Errorf("history of %d readings", n)
	}
	ctx := context.Background()
	conn := connect(t, url)
	var rivera string
	if err := conn.QueryRow(ctx, `SELECT id FROM patients WHERE mrn = 'H1000001'`).Scan(&rivera); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, code := range []string{rpm.CodeSpO2, rpm.CodeRespRate, rpm.CodeSystolicBP, rpm.CodeBodyTemp} {
		points, err := a.store.Series(ctx, rivera, code, now.Add(-30*24*time.Hour), now, 2*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(points) == 0 || points[0].T > now.Add(-29*24*time.Hour).Unix() {
			t.Errorf("the 30-day chart of %s has %d points, the first not 29 days back", code, len(points))
		}
	}
	var offSchedule, alerts int
	if err := conn.QueryRow(ctx, `
		SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id JOIN patients p ON p.id = r.patient_id
		WHERE d.kind = 'bp_cuff' AND p.mrn <> 'H1000003' -- the hypotensive patient checks when faint too
		  AND extract(hour FROM r.effective_at AT TIME ZONE 'Europe/London') NOT IN (7, 8, 19, 20)`).Scan(&offSchedule); err != nil {
		t.Fatal(err)
	}
	if offSchedule != 0 {
		t.Errorf("%d blood pressures taken outside the morning and evening", offSchedule)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM alerts WHERE opened_at < $1`, before).Scan(&alerts); err != nil {
		t.Fatal(err)
	}
	if alerts != 0 {
		t.Errorf("the history raised %d alerts", alerts)
	}
	stop()

	out, _, stop = startDemoFor(t, url)
	defer stop()
	if m := backfilledLine.FindStringSubmatch(out); m == nil || len(m[1]) > 4 {
		t.Errorf("a second start on the same database backfilled again:\n%s", out)
	}
	var duplicated int
	if err := conn.QueryRow(ctx, `
		SELECT count(*) FROM (SELECT 1 FROM readings GROUP BY device_id, code, effective_at HAVING count(*) > 1) d`).Scan(&duplicated); err != nil {
		t.Fatal(err)
	}
	if duplicated != 0 {
		t.Errorf("%d measurements stored twice after a second start", duplicated)
	}
}
