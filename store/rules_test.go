package store_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// demoWithPatient seeds the demo hospital and returns one of its patients.
func demoWithPatient(t testing.TB, s *store.Store) string {
	t.Helper()
	ctx := context.Background()
	if err := s.SeedDemo(ctx, demo.New(), "http://issuer.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	ids, err := s.DemoPatientIDs(ctx, demo.New())
	if err != nil || len(ids) == 0 {
		t.Fatal("no patients", err)
	}
	return ids[0]
}

// hospitalRule finds the hospital default of a kind, code and direction.
func hospitalRule(t testing.TB, rules []rpm.AlertRule, code string, dir rpm.Direction) rpm.AlertRule {
	t.Helper()
	for _, r := range rules {
		p, err := alerts.ParseRule(r)
		if err == nil && r.Scope == rpm.ScopeHospital && r.Code == code && p.Direction == dir {
			return r
		}
	}
	t.Fatalf("no hospital rule for %s %s", code, dir)
	return rpm.AlertRule{}
}

func ruleIDs(rules []rpm.AlertRule) []string {
	ids := make([]string, len(rules))
	for i, r := range rules {
		ids[i] = r.ID
	}
	return ids
}

// TestPatientOverrideReplacesTheDefault: saving an override puts it in force instead of the
// hospital rule; saving again updates it; switching off leaves neither; retiring brings the
// default back and keeps the override's row with who and why.
func TestPatientOverrideReplacesTheDefault(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)
	patient := demoWithPatient(t, s)
	inForce, _, err := s.RulesFor(ctx, patient)
	if err != nil {
		t.Fatal(err)
	}
	def := hospitalRule(t, inForce, rpm.CodeHeartRate, rpm.Below)
	var kim string
	if err := conn.QueryRow(ctx, `SELECT id::text FROM users WHERE username = 'nurse.kim'`).Scan(&kim); err != nil {
		t.Fatal(err)
	}
	r, _ := alerts.ParseRule(def)
	r.Limit, r.Clear = 35, 40
	o := rpm.AlertRule{Scope: rpm.ScopePatient, PatientID: patient, Overrides: def.ID, Severity: rpm.SeverityHigh, Params: r.Params(),
		Enabled: true, UpdatedBy: kim, ChangeReason: "Athlete: resting pulse 48"}
	id, err := s.SaveOverride(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	inForce, _, _ = s.RulesFor(ctx, patient)
	if ids := ruleIDs(inForce); !slices.Contains(ids, id) || slices.Contains(ids, def.ID) {
		t.Fatalf("after the override, in force: %v (override %s, default %s)", ids, id, def.ID)
	}
	o.ChangeReason, o.Severity = "Lower still", rpm.SeverityMedium
	if again, err := s.SaveOverride(ctx, o); err != nil || again != id {
		t.Fatalf("saving again: %s, %v; want the same override %s", again, err, id)
	}
	o.Enabled = false
	if _, err := s.SaveOverride(ctx, o); err != nil {
		t.Fatal(err)
	}
	inForce, _, _ = s.RulesFor(ctx, patient)
	if ids := ruleIDs(inForce); slices.Contains(ids, id) || slices.Contains(ids, def.ID) {
		t.Fatalf("switched off, yet in force: %v", ids)
	}
	if err := s.RetireOverride(ctx, id, kim, "Back to normal"); err != nil {
		t.Fatal(err)
	}
	inForce, _, _ = s.RulesFor(ctx, patient)
	if ids := ruleIDs(inForce); slices.Contains(ids, id) || !slices.Contains(ids, def.ID) {
		t.Fatalf("after the reset, in force: %v", ids)
	}
	var by, reason string
	if err := conn.QueryRow(ctx, `SELECT updated_by::text, change_reason FROM alert_rules WHERE id = $1`, id).Scan(&by, &reason); err != nil {
		t.Fatal(err)
	}
	if by != kim || reason != "Back to normal" {
		t.Errorf("the retired override keeps %q, %q", by, reason)
	}
	if err := s.RetireOverride(ctx, id, kim, "twice"); err != store.ErrNotFound {
		t.Errorf("retiring twice: %v, want ErrNotFound", err)
	}
	if err := s.RetireOverride(ctx, def.ID, kim, "the default"); err != store.ErrNotFound {
		t.Errorf("retiring a hospital rule: %v, want ErrNotFound", err)
	}
}

// spo2Device puts a new oximeter on the patient and returns it.
func spo2Device(t testing.TB, s *store.Store, patient string, since time.Time) string {
	t.Helper()
	_, hash := auth.NewDeviceToken()
	device, err := s.ProvisionDevice(context.Background(), rpm.Device{Serial: "WHATIF", Vendor: "T", Kind: rpm.KindPulseOximeter}, hash)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AssignDevice(context.Background(), device, patient, "", since); err != nil {
		t.Fatal(err)
	}
	return device
}

// TestWhatIfCountsAgainstAHandComputedSeries: the hospital's SpO₂ rule (below 90 for 2 min,
// clears above 92 for 1 min) against a scale-2 target (below 88 for 2 min, clears above 90),
// replayed over readings streamed in time order.
func TestWhatIfCountsAgainstAHandComputedSeries(t *testing.T) {
	ctx := context.Background()
	s, _ := openFresh(t)
	patient := demoWithPatient(t, s)
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	device := spo2Device(t, s, patient, start.Add(-time.Hour))
	// One reading a minute: 95 by default, with three dips:
	//   minutes 10–13 at 89 (4 min below 90, not below 88): the current rule fires, the proposed not;
	//   minutes 30–31 at 87 (2 readings, 1 min apart: not 2 min long): neither fires;
	//   minutes 60–64 at 86 (5 min below 88): both fire.
	value := func(m int) float64 {
		switch {
		case m >= 10 && m <= 13:
			return 89
		case m >= 30 && m <= 31:
			return 87
		case m >= 60 && m <= 64:
			return 86
		}
		return 95
	}
	var readings []rpm.Reading
	for m := range 120 {
		readings = append(readings, rpm.Reading{DeviceID: device, DeviceReadingID: "w" + strconv.Itoa(m), Code: rpm.CodeSpO2,
			Unit: "%", Value: value(m), EffectiveAt: start.Add(time.Duration(m) * time.Minute), ReceivedAt: time.Now()})
	}
	if _, _, err := s.WriteIntake(ctx, readings, nil, nil); err != nil {
		t.Fatal(err)
	}
	inForce, _, _ := s.RulesFor(ctx, patient)
	current, err := alerts.ParseRule(hospitalRule(t, inForce, rpm.CodeSpO2, rpm.Below))
	if err != nil {
		t.Fatal(err)
	}
	proposed := current
	proposed.Limit, proposed.Clear = 88, 90
	cur, prop := current.Replayer(), proposed.Replayer()
	var last time.Time
	n := 0
	err = s.EachReading(ctx, patient, rpm.CodeSpO2, start.Add(-time.Minute), time.Now(), func(r rpm.Reading) error {
		if r.EffectiveAt.Before(last) {
			t.Errorf("reading at %s after one at %s", r.EffectiveAt, last)
		}
		last = r.EffectiveAt
		n++
		cur.Add(r)
		prop.Add(r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 120 || cur.Fired() != 2 || prop.Fired() != 1 {
		t.Errorf("%d readings: current rule %d alerts, proposed %d; want 120, 2, 1", n, cur.Fired(), prop.Fired())
	}
}

// TestNEWS2InputsForManyPatients: the latest entry of each kind, and the latest standing one,
// with their authors, the scale and the latest readings, for several patients in one call; a
// patient nobody recorded anything for has only the demo's usual state; a device's readings taken
// after it was marked lost are left out.
func TestNEWS2InputsForManyPatients(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)
	patient := demoWithPatient(t, s)
	ids, _ := s.DemoPatientIDs(ctx, demo.New())
	other := ids[1]
	var kim string
	if err := conn.QueryRow(ctx, `SELECT id::text FROM users WHERE username = 'nurse.kim'`).Scan(&kim); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, a := range []rpm.ClinicalAssessment{
		{Kind: rpm.AssessOxygen, Value: rpm.OnAir, RecordedAt: now.Add(-48 * time.Hour), RecordedBy: kim, Standing: true},
		{Kind: rpm.AssessOxygen, Value: rpm.OnAir, RecordedAt: now.Add(-2 * time.Hour), RecordedBy: kim},
		{Kind: rpm.AssessOxygen, Value: rpm.OnOxygen, RecordedAt: now.Add(-time.Hour), RecordedBy: kim},
		{Kind: rpm.AssessConsciousness, Value: rpm.ConsciousCVPU, RecordedAt: now.Add(-13 * time.Hour), RecordedBy: kim},
	} {
		if err := s.RecordAssessment(ctx, patient, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetSpO2Scale(ctx, patient, 2); err != nil {
		t.Fatal(err)
	}
	devices, err := s.PatientDevices(ctx, patient)
	if err != nil || len(devices) == 0 {
		t.Fatal(devices, err)
	}
	device := devices[0].ID
	// A reading stamped a little ahead, stored before the device was marked lost, and one before.
	before, after := now.Add(-time.Minute), now.Add(90*time.Second)
	for i, at := range []time.Time{before, after} {
		if _, err := conn.Exec(ctx, `INSERT INTO readings (effective_at, value, patient_id, device_id, code, unit, device_reading_id)
			VALUES ($1, $2, $3, $4, '8867-4', '/min', $5)`, at, 70+i*50, patient, device, fmt.Sprint("r", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetDeviceStatus(ctx, device, rpm.DeviceLost, kim); err != nil {
		t.Fatal(err)
	}
	got, err := s.NEWS2Inputs(ctx, []string{patient, other})
	if err != nil {
		t.Fatal(err)
	}
	in := got[patient]
	kinds := map[string]int{}
	standing := 0
	for _, a := range in.Assessments {
		kinds[a.Kind]++
		if a.Standing {
			standing++
		}
	}
	// Each kind's latest entry and latest standing one: for oxygen, kim's two; for consciousness,
	// kim's and the demo's usual state.
	if !in.Scale2 || kinds[rpm.AssessOxygen] != 2 || kinds[rpm.AssessConsciousness] != 2 || standing != 2 || in.Recorders[kim] == "" {
		t.Errorf("inputs: %+v", in)
	}
	if hr := in.Latest[rpm.CodeHeartRate]; hr.Value != 70 {
		t.Errorf("latest pulse %+v: want the reading taken before the device was marked lost", hr)
	}
	if o, ok := got[other]; !ok || o.Scale2 || len(o.Assessments) != 2 || !o.Assessments[0].Standing {
		t.Errorf("the other patient, with only the demo's usual state: %+v, %v", o, ok)
	}
	if err := s.RecordAssessment(ctx, "00000000-0000-4000-8000-000000000000", rpm.ClinicalAssessment{Kind: rpm.AssessOxygen, Value: rpm.OnAir, RecordedAt: now}); err != store.ErrNotFound {
		t.Errorf("an unknown patient: %v", err)
	}
}
