package watch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/ingest"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/storetest"
)

// TestMain (storetest.Main) is in webhook_test.go: one per test binary.

// hospital is the demo hospital on a fresh database, its devices assigned two hours ago.
type hospital struct {
	url     string
	conn    *pgx.Conn
	devices []store.DemoDevice // pulse oximeters, one per patient
	patient map[string]string  // device → patient
	start   time.Time
}

func newHospital(t *testing.T) *hospital {
	t.Helper()
	ctx := context.Background()
	h := &hospital{url: storetest.URL(t), patient: map[string]string{}}
	st := open(t, h.url)
	h.start = time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	if err := st.SeedDemo(ctx, demo.New(), "http://demo.invalid/oidc", h.start); err != nil {
		t.Fatal(err)
	}
	devices, err := st.DemoDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, h.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	h.conn = conn
	seen := map[string]bool{}
	for _, d := range devices {
		if d.Kind != rpm.KindPulseOximeter || seen[d.MRN] {
			continue
		}
		seen[d.MRN] = true
		var p string
		if err := conn.QueryRow(ctx, `SELECT id FROM patients WHERE mrn = $1`, d.MRN).Scan(&p); err != nil {
			t.Fatal(err)
		}
		h.devices, h.patient[d.DeviceID] = append(h.devices, d), p
	}
	if len(h.devices) < 3 {
		t.Fatalf("the demo has %d patients with a pulse oximeter; the test needs 3", len(h.devices))
	}
	return h
}

func open(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// instance is one Vigil instance's intake and alert engine over its own pool.
type instance struct {
	store  *store.Store
	engine *watch.Engine
	intake *ingest.Service
	stop   func()
}

func newInstance(t *testing.T, url string, now func() time.Time) *instance {
	t.Helper()
	st := open(t, url)
	engine := watch.New(st, watch.Options{Now: now, Tick: 200 * time.Millisecond})
	intake := ingest.New(st, ingest.Options{Evaluator: engine, RatePerSecond: 1e6, Burst: 1e6, Now: now})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { intake.Run(ctx) })
	stop := sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(stop)
	return &instance{store: st, engine: engine, intake: intake, stop: stop}
}

// point is one SpO₂ reading: seconds after the series' start and the value.
type point struct {
	sec int
	v   float64
}

func post(t *testing.T, in *instance, device string, start time.Time, id string, pts ...point) {
	t.Helper()
	type reading struct {
		ID    string  `json:"id"`
		Code  string  `json:"code"`
		Value float64 `json:"value"`
		Unit  string  `json:"unit"`
		At    string  `json:"at"`
	}
	var body struct {
		Readings []reading `json:"readings"`
	}
	for _, p := range pts {
		body.Readings = append(body.Readings, reading{ID: fmt.Sprintf("%s-%d", id, p.sec), Code: rpm.CodeSpO2, Value: p.v, Unit: "%",
			At: start.Add(time.Duration(p.sec) * time.Second).Format(time.RFC3339Nano)})
	}
	b, _ := json.Marshal(body)
	res, err := in.intake.Accept(context.Background(), device, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) > 0 {
		t.Fatalf("readings rejected: %+v", res.Rejected)
	}
}

// alertRow is what two runs must agree on about an alert.
type alertRow struct {
	Patient, Summary string
	State            rpm.AlertState
	Opened, Resolved time.Time
	Triggers         int
	Events           string
}

func alertsOf(t *testing.T, conn *pgx.Conn) []alertRow {
	t.Helper()
	rows, err := conn.Query(context.Background(), `
		SELECT a.patient_id::text, a.summary, a.state, a.opened_at, coalesce(a.resolved_at, 'epoch'), a.trigger_count,
		       (SELECT string_agg(kind, ',' ORDER BY at, id) FROM alert_events e WHERE e.alert_id = a.id)
		FROM alerts a ORDER BY a.patient_id, a.opened_at, a.rule_id`)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (alertRow, error) {
		var a alertRow
		err := row.Scan(&a.Patient, &a.Summary, &a.State, &a.Opened, &a.Resolved, &a.Triggers, &a.Events)
		return a, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// dips is a 20-minute SpO₂ series at one reading every 10 s with two dips below 90 % (the default
// rule: below 90 for 2 min, clear above 92 for 1 min): one long enough to fire, one too short.
func dips() []point {
	var pts []point
	for sec := 0; sec < 1200; sec += 10 {
		v := 96.0
		switch {
		case sec >= 120 && sec < 360: // 4 min below 90: fires after 2 min
			v = 87
		case sec >= 360 && sec < 420: // between the limits: stays open
			v = 91
		case sec >= 700 && sec < 760: // 1 min below 90: too short
			v = 88
		}
		pts = append(pts, point{sec, v})
	}
	return pts
}

func TestThresholdAlertLifecycle(t *testing.T) {
	h := newHospital(t)
	in := newInstance(t, h.url, time.Now)
	d := h.devices[0]
	start := h.start.Add(time.Hour)
	for i, p := range dips() {
		post(t, in, d.DeviceID, start, fmt.Sprint("r", i), p)
	}
	got := alertsOf(t, h.conn)
	if len(got) != 1 {
		t.Fatalf("alerts: %+v, want exactly one", got)
	}
	a := got[0]
	// Fires at 240 s (2 min after the first reading below 90 at 120 s); every later reading below
	// counts; it recovers after 2 minutes above 92 (420 s … 540 s) but, high and unacknowledged,
	// stays latched until someone acknowledges it.
	if want := start.Add(240 * time.Second); !a.Opened.Equal(want) || a.State != rpm.AlertFiring {
		t.Errorf("alert opened %s, %s; want opened %s, firing", a.Opened, a.State, want)
	}
	if a.Triggers != 12 || a.Events != "fired,recovered" {
		t.Errorf("triggers %d, events %s; want 12 and fired,recovered", a.Triggers, a.Events)
	}
	if !strings.Contains(a.Summary, "below 90") {
		t.Errorf("summary %q", a.Summary)
	}
}

// TestExactlyOnceAcrossInstances: two instances taking each device's readings in turn, with
// devices posting concurrently, raise exactly the alerts one instance raises from the same readings
// in order.
func TestExactlyOnceAcrossInstances(t *testing.T) {
	series := map[int][]point{}
	for k := range 3 {
		for _, p := range dips() {
			p.v -= float64(k) // the patients differ a little
			series[k] = append(series[k], p)
		}
	}
	run := func(instances int) []alertRow {
		h := newHospital(t)
		var ins []*instance
		for range instances {
			ins = append(ins, newInstance(t, h.url, time.Now))
		}
		start := h.start.Add(time.Hour)
		var wg sync.WaitGroup
		for k := range 3 {
			d := h.devices[k]
			wg.Go(func() {
				pts := series[k]
				for i := 0; i < len(pts); i += 3 {
					// Each device waits for its answer, as devices do, and resends a batch now
					// and then (a lost answer): duplicates must change nothing.
					batch := pts[i:min(i+3, len(pts))]
					post(t, ins[(i/3)%instances], d.DeviceID, start, "r", batch...)
					if i%9 == 0 {
						post(t, ins[(i/3+1)%instances], d.DeviceID, start, "r", batch...)
					}
				}
			})
		}
		wg.Wait()
		got := alertsOf(t, h.conn)
		for i := range got {
			// Each run has its own ids and clock.
			got[i].Patient, got[i].Opened = "", time.Time{}.Add(got[i].Opened.Sub(start))
			if !got[i].Resolved.Equal(time.Unix(0, 0)) {
				got[i].Resolved = time.Time{}.Add(got[i].Resolved.Sub(start))
			}
		}
		return got
	}
	one, two := run(1), run(2)
	if len(one) != 3 {
		t.Fatalf("one instance raised %d alerts, want 3 (one per patient): %+v", len(one), one)
	}
	slices.SortFunc(one, func(a, b alertRow) int { return strings.Compare(a.Summary, b.Summary) })
	slices.SortFunc(two, func(a, b alertRow) int { return strings.Compare(a.Summary, b.Summary) })
	if !slices.Equal(one, two) {
		t.Errorf("two instances:\n%+v\none instance:\n%+v", two, one)
	}
}

// failingEvaluator evaluates, then fails the transaction: a crash after evaluation, before commit.
type failingEvaluator struct {
	store.Evaluator
	fail bool
}

func (f *failingEvaluator) EvaluateStored(ctx context.Context, tx *store.AlertTx, stored []rpm.Reading) error {
	if err := f.Evaluator.EvaluateStored(ctx, tx, stored); err != nil {
		return err
	}
	if f.fail {
		return errors.New("crash before commit")
	}
	return nil
}

// TestCrashInADurationRule: a restart in the middle of "below 90 for 2 min" remembers when the
// breach began, and a commit that fails after evaluation leaves nothing behind; the resent readings
// are then evaluated once.
func TestCrashInADurationRule(t *testing.T) {
	h := newHospital(t)
	d := h.devices[0]
	start := h.start.Add(time.Hour)
	first := newInstance(t, h.url, time.Now)
	post(t, first, d.DeviceID, start, "r", point{0, 96}, point{10, 87}, point{20, 87}, point{60, 87})
	first.stop() // the process dies; only the database remains

	st := open(t, h.url)
	engine := watch.New(st, watch.Options{})
	ctx := context.Background()
	reading := func(sec int, v float64) rpm.Reading {
		return rpm.Reading{DeviceID: d.DeviceID, DeviceReadingID: fmt.Sprint("r-", sec), Code: rpm.CodeSpO2, Value: v, Unit: "%",
			EffectiveAt: start.Add(time.Duration(sec) * time.Second), ReceivedAt: time.Now()}
	}
	failing := &failingEvaluator{Evaluator: engine, fail: true}
	batch := []rpm.Reading{reading(130, 86), reading(140, 86)} // the breach is 2 min old at 130 s
	if _, _, err := st.WriteIntake(ctx, batch, nil, failing); err == nil {
		t.Fatal("the failing evaluation committed")
	}
	if n := len(alertsOf(t, h.conn)); n != 0 {
		t.Fatalf("a rolled-back evaluation left %d alerts", n)
	}
	var stored int
	if err := h.conn.QueryRow(ctx, `SELECT count(*) FROM readings WHERE device_reading_id IN ('r-130', 'r-140')`).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("a rolled-back batch left %d readings (%v)", stored, err)
	}
	failing.fail = false
	for range 2 { // the device resends; the second time everything is a duplicate
		if _, _, err := st.WriteIntake(ctx, batch, nil, failing); err != nil {
			t.Fatal(err)
		}
	}
	got := alertsOf(t, h.conn)
	if len(got) != 1 || !got[0].Opened.Equal(start.Add(130*time.Second)) || got[0].Triggers != 2 {
		t.Fatalf("after the restart: %+v; want one alert opened at 130 s with 2 triggers", got)
	}
}
