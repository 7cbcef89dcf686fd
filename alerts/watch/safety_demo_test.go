package watch_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/ingest/devicesim"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// The demo cohort: the demo hospital's 14 patients with the demo's stories (devicesim's
// physiology, its episodes a few times a day, its spot-check devices at the patients' usual times
// of day), replayed like the scripts. Its expectations come from the stories themselves.

// demoEvery is how often the demo cohort's continuous devices post in the replay (the live demo:
// every 10 s), and so the care plan's expected interval for them.
const demoEvery = 2 * time.Minute

// demoTick is the timers' interval in the demo cohort's replay.
const demoTick = 2 * time.Minute

// demoSilentAfter is when the demo's silent device stops (as in `vigil demo`).
const demoSilentAfter = 2 * time.Minute

// simulated is a demo device as a source: devicesim's patient behind it.
type simulated struct {
	p          *devicesim.Patient
	story      devicesim.Story
	continuous bool
	rng        *rand.Rand
	start      time.Time
	serial     string
	seq        int
}

func (s *simulated) nextAfter(t time.Duration) time.Duration {
	if s.continuous {
		if t < 0 {
			return 0
		}
		return (t/demoEvery + 1) * demoEvery
	}
	return s.p.NextMeasurement(s.start.Add(t)).Sub(s.start)
}

func (s *simulated) measure(t time.Duration, start time.Time) ([]wireReading, map[string]any, bool) {
	elapsed := s.story.Head + t
	battery := s.p.Battery(elapsed)
	if s.story.Scenario == devicesim.Silent && t >= demoSilentAfter || battery <= 0 {
		return nil, nil, true
	}
	at := start.Add(t + s.p.ClockSkew()).Format(time.RFC3339Nano)
	var out []wireReading
	for _, r := range s.p.Measure(nil, elapsed, s.rng) {
		s.seq++
		out = append(out, wireReading{ID: fmt.Sprintf("%s-%d", s.serial, s.seq), Code: r.Code, Value: r.Value, Unit: r.Unit, At: at})
	}
	return out, map[string]any{"battery": reportedBattery(battery), "firmware": "2.4.1"}, false
}

// reportedBattery is the charge as the demo's devices report it: to the percent.
func reportedBattery(charge float64) float64 { return math.Round(charge*100) / 100 }

// seedDemoCohort seeds the demo hospital at start and its devices as the replay's cohort, with the
// expectations of each patient's story over span.
func seedDemoCohort(t *testing.T, conn *pgx.Conn, st *store.Store, start time.Time, span time.Duration) *cohort {
	t.Helper()
	ctx := context.Background()
	if err := st.SeedDemo(ctx, demo.New(), "http://replay.invalid/oidc", start); err != nil {
		t.Fatal(err)
	}
	devices, err := st.DemoDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// As `vigil demo` stores their history, the devices were reporting until the start.
	if _, err := conn.Exec(ctx, `UPDATE devices SET last_reading_at = $1`, start); err != nil {
		t.Fatal(err)
	}
	c := &cohort{patients: map[string]string{}, names: map[string]string{}, nurse: map[string]string{},
		expect: map[string][]expectation{}, stable: map[string]bool{}}
	rows, err := conn.Query(ctx, `
		SELECT p.id::text, p.mrn, m.user_id::text FROM patients p JOIN patient_care_teams pt ON pt.patient_id = p.id
		JOIN care_team_members m ON m.team_id = pt.team_id AND m.tier = 1`)
	if err != nil {
		t.Fatal(err)
	}
	byMRN := map[string]string{}
	var id, mrn, nurse string
	if _, err := pgx.ForEachRow(rows, []any{&id, &mrn, &nurse}, func() error {
		byMRN[mrn], c.patients[id], c.nurse[id] = id, mrn, nurse
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, d := range devices {
		loc, err := time.LoadLocation(d.TimeZone)
		if err != nil {
			t.Fatal(err)
		}
		story := devicesim.DemoStory(d.MRN)
		dev := devicesim.Device{ID: d.DeviceID, Kind: d.Kind, Scenario: story.Scenario, Head: story.Head,
			Schedule: devicesim.UsualSchedule(d.Kind), Location: loc}
		p := devicesim.NewPatient(dev, start.Add(-story.Head), rand.New(rand.NewPCG(7, uint64(i))))
		continuous := dev.Schedule.Continuous()
		if continuous {
			if _, err := conn.Exec(ctx, `UPDATE device_assignments SET expected_interval = $2 WHERE device_id = $1 AND ended_at IS NULL`,
				d.DeviceID, demoEvery); err != nil {
				t.Fatal(err)
			}
		}
		src := &simulated{p: p, story: story, continuous: continuous, rng: rand.New(rand.NewPCG(8, uint64(i))), start: start,
			serial: fmt.Sprintf("D%03d", i)}
		pid := byMRN[d.MRN]
		c.devices = append(c.devices, &cohortDevice{src: src, name: string(d.Kind), id: d.DeviceID, patient: pid,
			next: src.nextAfter(-time.Nanosecond), rejects: story.Scenario == devicesim.ClockSkew})
		c.names[d.DeviceID] = string(d.Kind)
		c.expect[pid] = append(c.expect[pid], storyExpectations(story, p, d.Kind, continuous, span)...)
		c.stable[pid] = story.Scenario == devicesim.Stable
	}
	return c
}

// storyExpectations are what one device's story must raise within span: each hypoxic or
// hypotensive episode, a deterioration already under way, a silent monitor, a battery that runs
// low, a fast clock.
func storyExpectations(story devicesim.Story, p *devicesim.Patient, kind rpm.DeviceKind, continuous bool, span time.Duration) []expectation {
	var out []expectation
	for _, e := range p.Episodes(story.Head, story.Head+span) {
		code, what := "59408-5", "hypoxic episode"
		if story.Scenario == devicesim.Hypotensive {
			code, what = "8480-6", "hypotensive episode"
		}
		if slices.Contains(devicesim.KindMetrics(kind), code) { // a device that shows it
			out = append(out, expectation{what: fmt.Sprintf("%s at %s", what, e[0]-story.Head), at: e[0] - story.Head,
				kind: rpm.Threshold, code: code, within: 10 * time.Minute})
		}
	}
	switch {
	case !continuous:
	case story.Scenario == devicesim.Deterioration && slices.Contains(devicesim.KindMetrics(kind), rpm.CodeRespRate):
		if at, ok := deteriorationOnset(p, story.Head, span); ok {
			// The onset is reckoned from respiration, SpO₂ and pulse alone; the score Vigil sees
			// counts pressure and temperature too, so it may reach medium earlier.
			out = append(out, expectation{what: fmt.Sprintf("NEWS2 reaching medium at %s", at), at: at, lead: 2 * time.Hour,
				kind: rpm.NEWS2Rule, within: 30 * time.Minute})
		}
	case story.Scenario == devicesim.Silent:
		last := demoSilentAfter - demoEvery
		out = append(out, expectation{what: "the oximeter falling silent", at: last, kind: rpm.NotReporting,
			within: max(3*demoEvery, time.Minute) + demoTick})
	case story.Scenario == devicesim.BatteryDrain:
		low := time.Duration(0)
		for low < span && reportedBattery(p.Battery(story.Head+low)) > alerts.DefaultLowBattery.Limit {
			low += demoEvery
		}
		out = append(out, expectation{what: "the battery running low", at: low, kind: rpm.LowBattery, within: 2 * time.Minute})
	case story.Scenario == devicesim.ClockSkew:
		out = append(out, expectation{what: "a clock minutes fast", kind: "clock_skew", within: 2 * time.Minute})
	}
	return out
}

// zeroSource makes devicesim's noise zero: a patient's true values.
type zeroSource struct{}

func (zeroSource) Uint64() uint64 { return 0 }

// deteriorationOnset is when the true values a continuous device measures (respiration, SpO₂,
// pulse — pressure and temperature taken as normal, so never later than the patient's whole score)
// first score NEWS2 medium, to the minute, within span.
func deteriorationOnset(p *devicesim.Patient, head, span time.Duration) (time.Duration, bool) {
	truth := rand.New(zeroSource{})
	usual := []rpm.ClinicalAssessment{{Kind: rpm.AssessOxygen, Value: rpm.OnAir, Standing: true},
		{Kind: rpm.AssessConsciousness, Value: rpm.ConsciousAlert, Standing: true}}
	for t := time.Duration(0); t < span; t += time.Minute {
		v := p.Vitals(head+t, truth)
		latest := map[string]rpm.Reading{}
		for code, value := range map[string]float64{rpm.CodeRespRate: v.RespRate, rpm.CodeSpO2: v.SpO2, rpm.CodeHeartRate: v.HeartRate,
			rpm.CodeSystolicBP: 125, rpm.CodeBodyTemp: 37} {
			latest[code] = rpm.Reading{Code: code, Value: value, EffectiveAt: time.Unix(0, 0)}
		}
		n := alerts.ScoreNEWS2(alerts.NEWS2Input{Latest: latest, Assessments: usual}, time.Unix(0, 0), alerts.DefaultFreshness())
		if n.Band == alerts.BandMedium || n.Band == alerts.BandHigh {
			return t, true
		}
	}
	return 0, false
}
