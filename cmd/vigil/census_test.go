package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// TestCensusPutsTheSickestFirst: the census orders patients by NEWS2 and shows score and band in
// words; what it could not count makes the score partial.
func TestCensusPutsTheSickestFirst(t *testing.T) {
	d := startDemo(t)
	ctx := context.Background()
	schmidt := d.patientID(t, "H1000004") // last by name among kim's patients
	liveDevice(t, d.store, "NEWS-1", schmidt)
	var device string
	if err := d.db.QueryRow(ctx, `SELECT id FROM devices WHERE serial = 'NEWS-1'`).Scan(&device); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var readings []rpm.Reading
	for i, v := range map[string]float64{rpm.CodeRespRate: 26, rpm.CodeSpO2: 90, rpm.CodeSystolicBP: 88, rpm.CodeHeartRate: 135, rpm.CodeBodyTemp: 39.4} {
		unit, _ := rpm.CanonicalUnit(i)
		readings = append(readings, rpm.Reading{DeviceID: device, DeviceReadingID: "n-" + i, Code: i, Value: v, Unit: unit, EffectiveAt: now.Add(-time.Minute)})
	}
	if _, _, err := d.store.WriteIntake(ctx, readings, nil, nil); err != nil {
		t.Fatal(err)
	}
	kim := d.browser(t)
	page := kim.signIn("nurse.kim", "vigil-demo")
	first := strings.Index(page.body, `<tr data-patient=`)
	if first < 0 || !strings.HasPrefix(page.body[first:], `<tr data-patient="`+schmidt+`"`) {
		t.Fatalf("the sickest patient is not first on the census")
	}
	row := page.body[first : first+strings.Index(page.body[first:], "</tr>")]
	// Every parameter is measured or in the demo's care plan (on air, alert): a complete score.
	if !strings.Contains(row, "14 · high") || strings.Contains(row, "partial") {
		t.Errorf("the census row lacks NEWS2 14, high, complete:\n%s", row)
	}
	var api struct {
		Patients []struct {
			ID    string
			NEWS2 struct {
				Score   int
				Band    string
				Partial bool
			}
			OpenAlerts int `json:"open_alerts"`
		}
	}
	kim.jsonRequest(http.MethodGet, "/api/v1/patients", "", nil, &api)
	found := false
	for _, p := range api.Patients {
		if p.ID == schmidt {
			found = p.NEWS2.Score == 14 && p.NEWS2.Band == "high" && !p.NEWS2.Partial
		}
	}
	if !found || len(api.Patients) != 7 {
		t.Errorf("the patients API: %+v", api.Patients)
	}
	view := kim.get("/patients/" + schmidt)
	// The readings were stored without the alert engine: the only alerts are technical (the demo's
	// devices never reported), listed with the patient's alerts.
	if !strings.Contains(view.body, "NEWS2: ") || !strings.Contains(view.body, "the patient&#39;s usual state (care plan)") || !strings.Contains(view.body, `<h2 id="alerts">Alerts</h2>`) ||
		strings.Contains(view.body, "banner-alert") {
		t.Errorf("the patient view lacks NEWS2 parameters or the alert history")
	}
}

// TestCarePlanReportingInterval: a clinician on the patient's team sets how often a device is
// expected to report (the not-reporting alert and the census count from it); the change is
// audited; a value not on the list, or a device not on the patient, is refused.
func TestCarePlanReportingInterval(t *testing.T) {
	d := startDemo(t)
	ctx := context.Background()
	patient := d.patientID(t, "H1000006")
	devices, err := d.store.PatientDevices(ctx, patient)
	if err != nil || len(devices) == 0 {
		t.Fatal(devices, err)
	}
	device := devices[0].ID
	kim := d.browser(t)
	token := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	path := "/patients/" + patient + "/devices/" + device + "/interval"
	if got := kim.post(path, url.Values{"_csrf": {token}, "every": {"12h"}}); got.status != http.StatusOK || !strings.Contains(got.body, "expected every 12 h") {
		t.Fatalf("setting twice a day: %d\n%.300s", got.status, got.body)
	}
	d.id(t, `SELECT id::text FROM device_assignments WHERE device_id = $1 AND ended_at IS NULL AND expected_interval = '12 hours'`, device)
	if n := d.auditCount(t, "nurse.kim", "device.interval", patient, true); n != 1 {
		t.Errorf("audited %d times", n)
	}
	if got := kim.post(path, url.Values{"_csrf": {token}, "every": {"7s"}}); got.status != http.StatusUnprocessableEntity ||
		!strings.Contains(got.body, "Choose how often the device reports from the list.") {
		t.Errorf("a value not on the list: %d", got.status)
	}
	other := "/patients/" + d.patientID(t, "H1000005") + "/devices/" + device + "/interval"
	if got := kim.post(other, url.Values{"_csrf": {token}, "every": {"24h"}}); got.status != http.StatusNotFound {
		t.Errorf("a device not on the patient: %d", got.status)
	}
	if got := kim.post(path, url.Values{"_csrf": {token}, "every": {""}}); got.status != http.StatusOK {
		t.Errorf("back to the kind's usual: %d", got.status)
	}
	d.id(t, `SELECT id::text FROM device_assignments WHERE device_id = $1 AND ended_at IS NULL AND expected_interval IS NULL`, device)
}
