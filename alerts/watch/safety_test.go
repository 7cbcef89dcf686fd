package watch_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/ingest"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/storetest"
)

// The clinical-safety replay: scripted patient streams go through the real intake (decode,
// validate, normalise, one commit for concurrent posts, rules evaluated in the commit), the real
// timers and the real alert lifecycle, on a virtual clock — hours of simulated time in seconds.
// A simulated nurse acknowledges what fires after a delay, unless the scenario says nobody does.
// What every run measures is written to docs/CLINICAL-SAFETY.md (safety_doc_test.go).

// vclock is the replay's virtual clock, shared by intake and the engine.
type vclock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *vclock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *vclock) set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// scriptDevice is one simulated device on a scripted patient.
type scriptDevice struct {
	name  string
	kind  rpm.DeviceKind
	every time.Duration   // continuous: posts every so often (the care plan's expected interval too)
	daily []time.Duration // spot-check: posts at these times of each day (from the replay's start)
	codes []string
	// value is the device's reading of code at t after the start (ok false: it measures nothing).
	value func(code string, t time.Duration, rng *rand.Rand) (float64, bool)
	// silentFrom stops the device for good at this time after the start (0: never).
	silentFrom time.Duration
	// offline holds its readings from offline[0] to offline[1] and uploads them after its first
	// live reading at offline[1], as a device does after a lost connection.
	offline [2]time.Duration
}

// scriptPatient is a scripted patient: devices, and the deteriorations the replay must detect.
type scriptPatient struct {
	name    string
	team    string // "" for the replay's staffed team
	devices []scriptDevice
	expect  []expectation
}

// expectation is a deterioration (or a device failure) that must raise an alert of kind (and
// code, when set) at or after at, within within.
type expectation struct {
	what   string
	at     time.Duration
	lead   time.Duration // an alert this much before at detects it too (at reckoned conservatively)
	kind   rpm.RuleKind
	code   string
	within time.Duration
}

// scenario is one replay run.
type scenario struct {
	name     string
	span     time.Duration
	tick     time.Duration // the timers' interval
	patients []scriptPatient
	noNurse  bool          // nobody acknowledges: escalation runs its course
	demo     bool          // the demo hospital's cohort and stories instead of scripted patients
	ackAfter time.Duration // the simulated nurse's response time (default 3 min, inside the teams' 5-minute window)
	stable   bool          // every patient is stable: any alert is a false alarm
}

// teams of the replay: a staffed one, one with nobody at tier 2, one with only a first responder.
var replayTeams = []struct {
	name  string
	tiers []int
}{
	{"Replay ward", []int{1, 2, 3}},
	{"Replay ward, no tier 2", []int{1, 3}},
	{"Replay ward, tier 1 only", []int{1}},
}

// outcome is what a replay measured.
type outcome struct {
	scenario              string
	hours                 float64
	patients              int
	clinical, technical   int
	episodes, flaps       int
	escalations, stuck    int
	skipped               int // escalations past an empty tier
	reopened              int // opened within 15 minutes of the same condition's last alert resolving
	expected, detected    int
	detection             []time.Duration // per detected expectation
	falseAlarms           int             // alerts of a stable scenario
	late                  int
	failures              []string
	alertsByDevice        map[string]string // alert summary → the device name that raised it
	clinicalCalls         int               // clinical alerts opened, and acknowledged ones firing again: each calls someone
	clinicalPerPatientDay float64
}

// replayStart is when every replay begins, on the virtual clock: a fixed instant, so that what
// depends on the time of day and the date — spot checks at the patient's local morning and
// evening, their day-to-day jitter — and with it every figure, is the same on every run.
var replayStart = time.Date(2026, time.November, 2, 9, 0, 0, 0, time.UTC)

// replay runs one scenario and measures it.
func replay(t *testing.T, sc scenario) outcome {
	t.Helper()
	ctx := context.Background()
	url := storetest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	st := open(t, url)
	start := replayStart
	clk := &vclock{now: start}
	var cohort *cohort
	if sc.demo {
		cohort = seedDemoCohort(t, conn, st, start, sc.span)
	} else {
		cohort = seedCohort(t, conn, sc, start)
	}
	engine := watch.New(st, watch.Options{Now: clk.Now, Tick: sc.tick})
	intake := ingest.New(st, ingest.Options{Evaluator: engine, Now: clk.Now, RatePerSecond: 1e9, Burst: 1e9, ClockSkew: time.Minute})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { intake.Run(runCtx) })
	defer func() { stop(); wg.Wait() }()

	r := &run{t: t, sc: sc, ctx: ctx, conn: conn, st: st, engine: engine, intake: intake, clk: clk, start: start, cohort: cohort,
		shown: map[string][]time.Duration{}, firing: map[string]bool{}}
	r.loop()
	return r.measure()
}

// cohortDevice is a device of the replay's cohort as seeded: where its readings come from, when
// it posts next, and what it holds back while offline.
type cohortDevice struct {
	src         deviceSource
	name        string
	id, patient string
	next        time.Duration
	offline     [2]time.Duration
	buffered    []wireReading
	rejects     bool // its readings may be refused (a device whose clock runs fast)
}

// deviceSource is what a replay device measures and when.
type deviceSource interface {
	// nextAfter is its first posting time after t.
	nextAfter(t time.Duration) time.Duration
	// measure is what it posts at t, stamped by its own clock, and its status; off: it has stopped.
	measure(t time.Duration, start time.Time) (readings []wireReading, status map[string]any, off bool)
}

// scripted is a scripted device as a source.
type scripted struct {
	scriptDevice
	serial string
	rng    *rand.Rand
	seq    int
}

func (d *scripted) nextAfter(t time.Duration) time.Duration {
	if d.every > 0 {
		if t < 0 {
			return 0 // continuous devices were reporting before the replay began
		}
		return (t/d.every + 1) * d.every
	}
	best := time.Duration(-1)
	for day := t / (24 * time.Hour); best < 0; day++ {
		for _, at := range d.daily {
			if c := day*24*time.Hour + at; c > t && (best < 0 || c < best) {
				best = c
			}
		}
	}
	return best
}

func (d *scripted) measure(t time.Duration, start time.Time) ([]wireReading, map[string]any, bool) {
	if d.silentFrom > 0 && t >= d.silentFrom {
		return nil, nil, true
	}
	var out []wireReading
	for _, code := range d.codes {
		v, ok := d.value(code, t, d.rng)
		if !ok {
			continue
		}
		unit, _ := rpm.CanonicalUnit(code)
		d.seq++
		out = append(out, wireReading{ID: fmt.Sprintf("%s-%d", d.serial, d.seq), Code: code, Value: v, Unit: unit,
			At: start.Add(t).Format(time.RFC3339Nano)})
	}
	return out, nil, false
}

type cohort struct {
	devices  []*cohortDevice
	patients map[string]string        // patient id → script name (MRN in the demo cohort)
	names    map[string]string        // device id → script name
	nurse    map[string]string        // patient id → the tier-1 user who acknowledges
	expect   map[string][]expectation // patient id → what must be detected
	stable   map[string]bool          // patients for whom any clinical alert is a false alarm
}

// seedCohort creates the replay's teams, their clinicians, the scenario's patients and devices,
// assigned a day before the start with the care plan's expected intervals, and each patient's
// usual state (on air, alert) as a standing entry.
func seedCohort(t *testing.T, conn *pgx.Conn, sc scenario, start time.Time) *cohort {
	t.Helper()
	ctx := context.Background()
	exec := func(sql string, args ...any) string {
		t.Helper()
		var id string
		if err := conn.QueryRow(ctx, sql, args...).Scan(&id); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return id
	}
	teams, nurses := map[string]string{}, map[string]string{}
	for i, tm := range replayTeams {
		teams[tm.name] = exec(`INSERT INTO care_teams (name, ack_window) VALUES ($1, '5 minutes') RETURNING id::text`, tm.name)
		for _, tier := range tm.tiers {
			u := exec(`INSERT INTO users (issuer, subject, username, display_name, roles) VALUES ('replay', $1, $1, $2, '{clinician}')
				RETURNING id::text`, fmt.Sprintf("replay-%d-%d", i, tier), fmt.Sprintf("Replay clinician %d (tier %d)", i, tier))
			exec(`INSERT INTO care_team_members (team_id, user_id, tier) VALUES ($1, $2, $3) RETURNING user_id::text`, teams[tm.name], u, tier)
			if tier == 1 {
				nurses[tm.name] = u
			}
		}
	}
	c := &cohort{patients: map[string]string{}, names: map[string]string{}, nurse: map[string]string{},
		expect: map[string][]expectation{}, stable: map[string]bool{}}
	since := start.Add(-24 * time.Hour)
	for i, p := range sc.patients {
		team := cmp.Or(p.team, replayTeams[0].name)
		pid := exec(`INSERT INTO patients (mrn, family_name, given_name, birth_date) VALUES ($1, $2, 'Replay', '1950-01-01') RETURNING id::text`,
			fmt.Sprintf("R%03d", i), p.name)
		exec(`INSERT INTO patient_care_teams (patient_id, team_id) VALUES ($1, $2) RETURNING patient_id::text`, pid, teams[team])
		for _, kind := range []string{rpm.AssessOxygen, rpm.AssessConsciousness} {
			value := map[string]string{rpm.AssessOxygen: rpm.OnAir, rpm.AssessConsciousness: rpm.ConsciousAlert}[kind]
			exec(`INSERT INTO clinical_assessments (patient_id, kind, value, recorded_at, standing) VALUES ($1, $2, $3, $4, true)
				RETURNING patient_id::text`, pid, kind, value, since)
		}
		c.patients[pid], c.nurse[pid], c.expect[pid], c.stable[pid] = p.name, nurses[team], p.expect, sc.stable
		for j, d := range p.devices {
			did := exec(`INSERT INTO devices (serial, vendor, model, kind) VALUES ($1, 'Replay', $2, $3) RETURNING id::text`,
				fmt.Sprintf("R%03d-%d", i, j), d.name, string(d.kind))
			var expected *time.Duration
			if d.every > 0 {
				expected = &d.every
			} else if len(d.daily) > 0 {
				day := 24 * time.Hour / time.Duration(len(d.daily))
				expected = &day
			}
			exec(`INSERT INTO device_assignments (device_id, patient_id, started_at, expected_interval) VALUES ($1, $2, $3, $4)
				RETURNING id::text`, did, pid, since, expected)
			src := &scripted{scriptDevice: d, serial: fmt.Sprintf("R%03d-%d", i, j), rng: rand.New(rand.NewPCG(uint64(i), uint64(j)))}
			cd := &cohortDevice{src: src, name: d.name, id: did, patient: pid, offline: d.offline, next: src.nextAfter(-time.Nanosecond)}
			c.devices = append(c.devices, cd)
			c.names[did] = d.name
		}
	}
	return c
}

type wireReading struct {
	ID    string  `json:"id"`
	Code  string  `json:"code"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	At    string  `json:"at"`
}

// run is one replay in progress.
type run struct {
	t      *testing.T
	sc     scenario
	ctx    context.Context
	conn   *pgx.Conn
	st     *store.Store
	engine *watch.Engine
	intake *ingest.Service
	clk    *vclock
	start  time.Time
	cohort *cohort
	shown  map[string][]time.Duration // alert id → each time it began to fire: opened, or fired again (virtual, from the start)
	firing map[string]bool            // alert id → firing when last looked at
}

// loop advances the virtual clock from event to event — devices' posts and the timers' ticks —
// until the span is over.
func (r *run) loop() {
	nextTick := time.Duration(0)
	for {
		at := nextTick
		for _, d := range r.cohort.devices {
			at = min(at, d.next)
		}
		if at >= r.sc.span {
			return
		}
		r.clk.set(r.start.Add(at))
		r.post(at)
		if r.t.Failed() {
			r.t.FailNow()
		}
		r.intake.FlushStatus(r.ctx)
		if at == nextTick {
			if err := r.engine.CheckTimers(r.ctx); err != nil {
				r.t.Fatal(err)
			}
			nextTick += r.sc.tick
		}
		r.observe(at)
		r.nurse(at)
	}
}

// post sends what every device due at at measures: patients at once, each patient's devices in
// turn (so a replay is the same every time).
func (r *run) post(at time.Duration) {
	byPatient := map[string][]*cohortDevice{}
	for _, d := range r.cohort.devices {
		if d.next == at {
			byPatient[d.patient] = append(byPatient[d.patient], d)
			d.next = d.src.nextAfter(at)
		}
	}
	var wg sync.WaitGroup
	for _, list := range byPatient {
		wg.Go(func() {
			for _, d := range list {
				r.postDevice(d, at)
			}
		})
	}
	wg.Wait()
}

func (r *run) postDevice(d *cohortDevice, at time.Duration) {
	now, status, off := d.src.measure(at, r.start)
	if off {
		d.next = 1<<63 - 1
		return
	}
	if d.offline[1] > 0 && at >= d.offline[0] && at < d.offline[1] {
		d.buffered = append(d.buffered, now...)
		return
	}
	r.send(d, now, status)
	if len(d.buffered) > 0 { // back online: the backlog follows the live reading
		backlog := d.buffered
		d.buffered = nil
		for i := 0; i < len(backlog); i += 100 {
			r.send(d, backlog[i:min(i+100, len(backlog))], nil)
		}
	}
}

func (r *run) send(d *cohortDevice, readings []wireReading, status map[string]any) {
	if len(readings) == 0 {
		return
	}
	payload := map[string]any{"readings": readings}
	if status != nil {
		payload["status"] = status
	}
	body, _ := json.Marshal(payload)
	res, err := r.intake.Accept(r.ctx, d.id, body) // on a goroutine of post's: report, never Fatal
	if err != nil {
		r.t.Errorf("%s: %v", d.name, err)
	} else if len(res.Rejected) > 0 && !d.rejects {
		r.t.Errorf("%s: %d readings rejected, the first %+v", d.name, len(res.Rejected), res.Rejected[0])
	}
}

// observe notes when each alert began to fire: when it opened, and each time it fired again after
// being acknowledged or snoozed (worse, back after a pause, or a snooze that ran out) and so
// demanded someone's attention anew.
func (r *run) observe(at time.Duration) {
	rows, err := r.conn.Query(r.ctx, `SELECT id::text, state = 'firing' FROM alerts`)
	if err != nil {
		r.t.Fatal(err)
	}
	var id string
	var firing bool
	if _, err := pgx.ForEachRow(rows, []any{&id, &firing}, func() error {
		if _, seen := r.shown[id]; !seen || firing && !r.firing[id] {
			r.shown[id] = append(r.shown[id], at)
		}
		r.firing[id] = firing
		return nil
	}); err != nil {
		r.t.Fatal(err)
	}
}

// nurse acknowledges every firing clinical alert the simulated nurse has had time to see.
func (r *run) nurse(at time.Duration) {
	if r.sc.noNurse {
		return
	}
	rows, err := r.conn.Query(r.ctx, `SELECT a.id::text, a.patient_id::text FROM alerts a WHERE a.state = 'firing'`)
	if err != nil {
		r.t.Fatal(err)
	}
	type firing struct{ id, patient string }
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (firing, error) {
		var f firing
		err := row.Scan(&f.id, &f.patient)
		return f, err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	delay := cmp.Or(r.sc.ackAfter, 3*time.Minute)
	for _, f := range list {
		if at-r.shown[f.id][len(r.shown[f.id])-1] >= delay {
			if _, err := r.engine.Acknowledge(r.ctx, f.id, f.patient, r.cohort.nurse[f.patient], "replay nurse"); err != nil && err != watch.ErrNotNow {
				r.t.Fatal(err)
			}
		}
	}
}

// alertRecord is an alert as the measurement reads it.
type alertRecord struct {
	id, patient, code, device string
	kind                      rpm.RuleKind
	direction                 string // and, for a per-device alert, the device: its key with kind and code
	summary                   string
	opened, resolved          time.Time
	late                      bool
	events                    []string // kind:note, in order
	human                     bool     // someone acted on it
}

// measure reads the alerts and their events and checks the scenario's expectations.
func (r *run) measure() outcome {
	rows, err := r.conn.Query(r.ctx, `
		SELECT a.id::text, a.patient_id::text, r.kind, coalesce(r.code, ''), a.direction || coalesce(a.device_id::text, ''), a.summary,
		       coalesce(a.source_device_id::text, a.device_id::text, ''),
		       a.opened_at, coalesce(a.resolved_at, 'epoch'), a.late,
		       (SELECT array_agg(e.kind || ':' || e.note ORDER BY e.at, e.id) FROM alert_events e WHERE e.alert_id = a.id),
		       EXISTS (SELECT 1 FROM alert_events e WHERE e.alert_id = a.id AND e.actor_id IS NOT NULL)
		FROM alerts a JOIN alert_rules r ON r.id = a.rule_id ORDER BY a.opened_at`)
	if err != nil {
		r.t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (alertRecord, error) {
		var a alertRecord
		err := row.Scan(&a.id, &a.patient, &a.kind, &a.code, &a.direction, &a.summary, &a.device, &a.opened, &a.resolved, &a.late, &a.events, &a.human)
		return a, err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	o := outcome{scenario: r.sc.name, hours: r.sc.span.Hours(), patients: len(r.cohort.patients), alertsByDevice: map[string]string{}}
	for _, a := range list {
		resolved := "open"
		if !a.resolved.Equal(time.Unix(0, 0)) {
			resolved = "resolved at " + a.resolved.Sub(r.start).String()
		}
		r.t.Logf("%s: %s %s at %s, %s: %s; events %s", r.cohort.patients[a.patient], a.kind, a.code, a.opened.Sub(r.start), resolved,
			a.summary, strings.Join(a.events, " | "))
		if a.kind.Technical() {
			o.technical++
		} else {
			o.clinical++
			o.clinicalCalls += max(len(r.shown[a.id]), 1)
		}
		if a.late {
			o.late++
		}
		o.alertsByDevice[string(a.kind)+" "+a.code] = r.cohort.names[a.device]
		o.episodes++
		for _, e := range a.events {
			switch {
			case strings.HasPrefix(e, "retriggered:came back"), strings.HasPrefix(e, "retriggered:back before"),
				strings.HasPrefix(e, "retriggered:back after"):
				o.episodes++
			case strings.HasPrefix(e, "escalated:"):
				o.escalations++
				if strings.Contains(e, "no one at tier") {
					o.skipped++
				}
			case strings.HasPrefix(e, "note:not acknowledged, and no one"):
				o.stuck++
			}
		}
		if !a.resolved.Equal(time.Unix(0, 0)) && a.resolved.Sub(a.opened) < 2*time.Minute && !a.human {
			o.flaps++
			o.failures = append(o.failures, fmt.Sprintf("flap: %s %s of %s opened %s, resolved %s later", a.kind, a.code,
				r.cohort.patients[a.patient], a.opened.Sub(r.start), a.resolved.Sub(a.opened)))
		}
	}
	for i, a := range list { // in order of opening
		for _, b := range list[:i] {
			gap := a.opened.Sub(b.resolved)
			if b.patient == a.patient && b.kind == a.kind && b.code == a.code && b.direction == a.direction &&
				!b.resolved.Equal(time.Unix(0, 0)) && gap >= 0 && gap < 15*time.Minute {
				o.reopened++
				o.failures = append(o.failures, fmt.Sprintf("reopened: %s %s of %s %s after the last one resolved", a.kind, a.code,
					r.cohort.patients[a.patient], gap))
				break
			}
		}
	}
	if r.sc.stable {
		o.falseAlarms = len(list)
		for _, a := range list {
			o.failures = append(o.failures, fmt.Sprintf("false alarm for %s at %s: %s", r.cohort.patients[a.patient], a.opened.Sub(r.start), a.summary))
		}
	}
	days := r.sc.span.Hours() / 24 * float64(o.patients)
	o.clinicalPerPatientDay = float64(o.clinicalCalls) / days
	r.checkExpectations(&o, list)
	return o
}

// checkExpectations finds, for each expected deterioration, the first time an alert of its kind
// (and code) for its patient began to fire at or after it began — opened, or an acknowledged one
// firing again; and holds the stable patients of a cohort to no clinical alert.
func (r *run) checkExpectations(o *outcome, list []alertRecord) {
	for pid, expected := range r.cohort.expect {
		name := r.cohort.patients[pid]
		for _, ex := range expected {
			o.expected++
			found := time.Duration(-1)
			for _, a := range list {
				if a.patient != pid || a.kind != ex.kind || ex.code != "" && a.code != ex.code {
					continue
				}
				for _, shown := range r.shown[a.id] {
					if shown >= ex.at-ex.lead && (found < 0 || shown < found) {
						found = shown
					}
				}
			}
			switch {
			case found < 0:
				o.failures = append(o.failures, fmt.Sprintf("%s of %s: not detected", ex.what, name))
				continue
			case found-ex.at > ex.within:
				o.failures = append(o.failures, fmt.Sprintf("%s of %s: detected after %s, allowed %s", ex.what, name, found-ex.at, ex.within))
			}
			o.detected++
			o.detection = append(o.detection, max(found-ex.at, 0))
		}
	}
	slices.Sort(o.detection)
	if r.sc.stable {
		return // every alert was counted as a false alarm already
	}
	for _, a := range list {
		if r.cohort.stable[a.patient] && !a.kind.Technical() {
			o.falseAlarms++
			o.failures = append(o.failures, fmt.Sprintf("false alarm for stable %s: %s", r.cohort.patients[a.patient], a.summary))
		}
	}
}
