package watch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/ingest/devicesim"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// TestDemoScenariosRaiseTheRightAlerts runs two hours of the demo's simulated patients through
// the hospital's default rules: the deteriorating, hypoxic, hypotensive and silent-device
// scenarios each raise their alert, and the stable patients none.
func TestDemoScenariosRaiseTheRightAlerts(t *testing.T) {
	h := newHospital(t)
	ctx := context.Background()
	st := open(t, h.url)
	engine := watch.New(st, watch.Options{})
	devices, err := st.DemoDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The demo's stories.
	scenarios, head := map[string]devicesim.Scenario{}, map[string]time.Duration{}
	for mrn, story := range devicesim.DemoStories {
		scenarios[mrn], head[mrn] = story.Scenario, story.Head
	}
	type sim struct {
		dev     store.DemoDevice
		patient *devicesim.Patient
		rng     *rand.Rand
	}
	var sims []sim
	for i, d := range devices {
		rng := rand.New(rand.NewPCG(0, uint64(i)))
		p := devicesim.NewPatient(devicesim.Device{ID: d.DeviceID, Kind: d.Kind, Scenario: scenarios[d.MRN]}, h.start, rng)
		sims = append(sims, sim{d, p, rng})
	}
	const span, step = 2 * time.Hour, time.Minute
	end := time.Now().Add(-time.Minute)
	begin := end.Add(-span)
	for at := begin; at.Before(end); at = at.Add(step) {
		var batch []rpm.Reading
		for _, s := range sims {
			elapsed := at.Sub(begin)
			if scenarios[s.dev.MRN] == devicesim.Silent && elapsed > 2*time.Minute {
				continue
			}
			for _, r := range s.patient.Measure(nil, head[s.dev.MRN]+elapsed, s.rng) {
				n, rej := rpm.Normalize(r.Code, r.Unit, r.Value)
				if rej != nil {
					t.Fatalf("the simulator sent an implausible value: %+v", r)
				}
				n.DeviceID, n.DeviceReadingID, n.EffectiveAt, n.ReceivedAt = s.dev.DeviceID, fmt.Sprint(r.Code, "-", at.Unix()), at, at
				batch = append(batch, n)
			}
		}
		if _, _, err := st.WriteIntake(ctx, batch, nil, engine); err != nil {
			t.Fatal(err)
		}
	}
	// The devices' latest readings, as intake records them for the technical timers: every device
	// just reported, but the silent one.
	var reports []rpm.DeviceReport
	for _, s := range sims {
		last := time.Now()
		if scenarios[s.dev.MRN] == devicesim.Silent {
			last = begin.Add(2 * time.Minute)
		}
		reports = append(reports, rpm.DeviceReport{DeviceID: s.dev.DeviceID, At: last, LastReadingAt: last})
	}
	if err := st.RecordDeviceReports(ctx, reports, make([]bool, len(reports))); err != nil {
		t.Fatal(err)
	}
	if err := engine.CheckTimers(ctx); err != nil {
		t.Fatal(err)
	}

	rows, err := h.conn.Query(ctx, `
		SELECT p.mrn, r.kind || ':' || coalesce(r.code, '') || ':' || a.direction || ':' || a.severity
		FROM alerts a JOIN patients p ON p.id = a.patient_id JOIN alert_rules r ON r.id = a.rule_id`)
	if err != nil {
		t.Fatal(err)
	}
	raised := map[string][]string{}
	for rows.Next() {
		var mrn, what string
		if err := rows.Scan(&mrn, &what); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(raised[mrn], what) {
			raised[mrn] = append(raised[mrn], what)
		}
	}
	for mrn, list := range raised {
		t.Logf("%s (%s): %s", mrn, or(string(scenarios[mrn]), "stable"), strings.Join(list, ", "))
	}
	want := map[string]string{
		"H1000002": "news2::",                                   // deterioration under way
		"H1000102": "news2::",                                   // further on
		"H1000101": "threshold:" + rpm.CodeSpO2 + ":below:high", // hypoxic episodes
		"H1000003": "threshold:" + rpm.CodeSystolicBP + ":below:high",
		"H1000004": "not_reporting:::low",
	}
	for mrn, prefix := range want {
		if !slices.ContainsFunc(raised[mrn], func(s string) bool { return strings.HasPrefix(s, prefix) }) {
			t.Errorf("%s (%s) raised %v; want an alert %s…", mrn, scenarios[mrn], raised[mrn], prefix)
		}
	}
	for _, d := range devices {
		if _, story := scenarios[d.MRN]; !story && len(raised[d.MRN]) > 0 {
			t.Errorf("stable patient %s raised %v", d.MRN, raised[d.MRN])
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
