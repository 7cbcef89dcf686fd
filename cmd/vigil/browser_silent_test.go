package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-rpm/vigil/rpm"
)

// TestSilentDevicesStopLookingHealthy: in headless Chromium, a patient whose continuous monitor
// stops reporting stops looking healthy on the census within the not-reporting rule's silence
// (here shortened for the test: 3 missed intervals of 1 s, at least 3 s) and the timers' tick —
// the devices badge says "1 of 3 silent" — and raises a technical alert; a patient with no
// readings shows NEWS2 "no data", never "0 · low".
func TestSilentDevicesStopLookingHealthy(t *testing.T) {
	d := startDemo(t)
	ctx := context.Background()
	patient := d.patientID(t, "H1000006") // Samir Haddad: a BP cuff, a pulse oximeter and a thermometer
	devices, err := d.store.PatientDevices(ctx, patient)
	if err != nil || len(devices) != 3 {
		t.Fatalf("devices of the patient: %v %v", devices, err)
	}
	var oximeter string
	var spotChecks []rpm.Device
	for _, dv := range devices {
		if dv.Kind == rpm.KindPulseOximeter {
			oximeter = dv.ID
		} else {
			spotChecks = append(spotChecks, dv)
		}
	}
	const interval, silence = time.Second, 3 * time.Second
	if err := d.store.SetExpectedInterval(ctx, patient, oximeter, interval); err != nil {
		t.Fatal(err)
	}
	if _, err := d.db.Exec(ctx, `
		INSERT INTO alert_rules (scope, patient_id, overrides, kind, severity, params, change_reason)
		SELECT 'patient', $1, id, kind, severity, '{"missed": 3, "min_silence": "3s"}', 'test: a short silence'
		FROM alert_rules WHERE scope = 'hospital' AND kind = 'not_reporting'`, patient); err != nil {
		t.Fatal(err)
	}
	seq := 0
	send := func(device, code string, value float64, unit string) error {
		seq++
		body := fmt.Sprintf(`{"readings": [{"id": "s%d", "code": %q, "value": %g, "unit": %q, "at": %q}]}`, seq, code, value, unit,
			time.Now().UTC().Format(time.RFC3339Nano))
		if res, err := d.app.intake.Accept(ctx, device, []byte(body)); err != nil || res.Accepted != 1 {
			return fmt.Errorf("post: %+v %v", res, err)
		}
		return nil
	}
	post := func(device, code string, value float64, unit string) {
		t.Helper()
		if err := send(device, code, value, unit); err != nil {
			t.Fatal(err)
		}
	}
	for _, dv := range spotChecks {
		if dv.Kind == rpm.KindBPCuff {
			post(dv.ID, rpm.CodeSystolicBP, 128, "mm[Hg]")
		} else {
			post(dv.ID, rpm.CodeBodyTemp, 36.9, "Cel")
		}
	}
	post(oximeter, rpm.CodeSpO2, 97, "%")
	d.app.intake.FlushStatus(ctx)

	tb := newTab(t, d.base, "nurse.kim")
	tb.do(chromedp.Navigate(d.base+"/patients"), chromedp.WaitVisible(chromedp.CSS(`#census`)))
	row := fmt.Sprintf(`document.querySelector('tr[data-patient=%q]')`, patient)
	devicesCell := row + `.querySelector('td.devices').textContent`
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the oximeter streams until told to stop
		defer close(done)
		tick := time.NewTicker(interval / 2)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := send(oximeter, rpm.CodeSpO2, 97, "%"); err != nil {
					t.Error(err) // on this goroutine: report, never Fatal
					return
				}
			}
		}
	}()
	if tb.waitTrueOr(devicesCell+`.includes('3 reporting')`, 10*time.Second) < 0 {
		t.Fatalf("both devices reporting: the cell says %q, data %s", tb.text(devicesCell), tb.text(row+`.querySelector('td.devices').dataset.devices`))
	}
	// A patient nobody has measured: no data, not a reassuring zero.
	noData := d.patientID(t, "H1000005")
	if got := tb.text(fmt.Sprintf(`document.querySelector('tr[data-patient=%q] td.news2').textContent.trim()`, noData)); got != "no data" {
		t.Errorf("NEWS2 of a patient without readings: %q", got)
	}

	close(stop)
	<-done
	silentAt := time.Now()
	bound := max(3*interval, silence) + 10*time.Second
	if tb.waitTrueOr(devicesCell+`.includes('1 of 3 silent')`, bound) < 0 {
		t.Fatalf("the census saying a device is silent: the cell says %q, data %s, now %s", tb.text(devicesCell),
			tb.text(`JSON.stringify(`+row+`.querySelector('td.devices')._devices)`), tb.text(`String(Date.now())`))
	}
	t.Logf("the census said '1 of 3 silent' %s after the monitor's last reading (its silence %s)", time.Since(silentAt).Round(time.Millisecond), silence)
	// The timers raise the technical alert, for the team, apart from the clinical ones.
	waitFor(t, bound, func() bool {
		var n int
		_ = d.db.QueryRow(ctx, `SELECT count(*) FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
			WHERE a.device_id = $1 AND a.state = 'firing' AND r.kind = 'not_reporting'`, oximeter).Scan(&n)
		return n == 1
	}, "the not-reporting alert")
	// The page has the technical alert's frame (counted by live.js), yet the clinical banner stays empty.
	tb.waitTrue(`(window.vigilLive.alerts || 0) >= 1`, bound, "the not-reporting alert's frame on the census")
	if tb.eval(`document.querySelectorAll('#alert-banner [data-alert]').length`) != 0 {
		t.Error("a technical alert went into the clinical banner")
	}
	tb.screenshot("census-silent-device")
}
