package devicesim

import (
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// historyConfig is a demo-like run: a deterioration 5 h under way, hypoxic episodes from 2
// minutes in, a hypotensive patient's cuff and a stable patient's thermometer, in London.
func historyConfig(t *testing.T) Config {
	loc := london(t)
	return Config{Seed: 11, Start: time.Date(2026, 11, 21, 10, 17, 3, 0, loc), Devices: []Device{
		{ID: "ox-det", Kind: rpm.KindPulseOximeter, Scenario: Deterioration, Head: 5 * time.Hour, Location: loc},
		{ID: "ox-hyp", Kind: rpm.KindPulseOximeter, Scenario: Hypoxic, Head: -2 * time.Minute, Location: loc},
		{ID: "bp-hyp", Kind: rpm.KindBPCuff, Scenario: Hypotensive, Head: -4 * time.Minute, Schedule: UsualSchedule(rpm.KindBPCuff), Location: loc},
		{ID: "th", Kind: rpm.KindThermometer, Schedule: UsualSchedule(rpm.KindThermometer), Location: loc},
	}}
}

// series is one code's values in time order.
func series(rs []rpm.Reading, code string) (times []time.Time, values []float64) {
	for _, r := range rs {
		if r.Code == code {
			times, values = append(times, r.EffectiveAt), append(values, r.Value)
		}
	}
	return times, values
}

// TestHistoryShape: a continuous device's history is every step, on a grid, up to the start; a
// spot-check device's at its times; all in canonical units with plausible values and stable ids,
// the same when drawn again; and the device's status is that of its last measurement.
func TestHistoryShape(t *testing.T) {
	t.Parallel()
	cfg := historyConfig(t)
	const days, step = 30, 5 * time.Minute
	from := cfg.Start.Add(-days * 24 * time.Hour)
	for i, d := range cfg.Devices {
		rs, status, err := cfg.History(i, from, cfg.Start, step)
		if err != nil {
			t.Fatal(err)
		}
		again, _, _ := cfg.History(i, from, cfg.Start, step)
		if !slices.Equal(rs, again) {
			t.Errorf("%s: a second history differs", d.ID)
		}
		ids := map[string]bool{}
		for _, r := range rs {
			unit, _ := rpm.CanonicalUnit(r.Code)
			want := "bf-" + r.Code + "-" + strconv.FormatInt(r.EffectiveAt.Unix(), 10)
			if r.DeviceID != d.ID || r.DeviceReadingID != want || ids[want] || r.Unit != unit ||
				r.EffectiveAt.Before(from) || !r.EffectiveAt.Before(cfg.Start) || !r.ReceivedAt.Equal(r.EffectiveAt) {
				t.Fatalf("%s: reading %+v", d.ID, r)
			}
			if _, rej := rpm.Normalize(r.Code, r.Unit, r.Value); rej != nil {
				t.Fatalf("%s: implausible %+v", d.ID, r)
			}
			ids[want] = true
		}
		codes := len(KindMetrics(d.Kind))
		if d.Schedule.Continuous() {
			if len(rs) != codes*days*24*12 || !rs[0].EffectiveAt.Equal(from.Truncate(step).Add(step)) {
				t.Errorf("%s: %d readings from %v, want one per code every 5 minutes on the grid", d.ID, len(rs), rs[0].EffectiveAt)
			}
		} else if n := len(rs) / codes; n < 2*days || n > 2*days+6*(days*24/8+1) { // twice a day, and up to 6 checks in each episode
			t.Errorf("%s: %d measurements in %d days", d.ID, n, days)
		}
		if last := rs[len(rs)-1].EffectiveAt; !status.At.Equal(last) || status.DeviceID != d.ID || *status.Battery <= 0 || *status.Battery > 1 {
			t.Errorf("%s: status %+v, last measurement at %v", d.ID, status, last)
		}
	}
	later, _, _ := cfg.History(0, from.Add(24*time.Hour+time.Second), cfg.Start, step)
	all, _, _ := cfg.History(0, from, cfg.Start, step)
	if first := later[0]; !slices.ContainsFunc(all, func(r rpm.Reading) bool { return r.DeviceReadingID == first.DeviceReadingID }) {
		t.Error("a history from a later start has measurements at other times")
	}
	// Coarser further back, finer since mid: the parts meet without overlapping, and stop at the start.
	mid := cfg.Start.Add(-7 * 24 * time.Hour)
	older, _, _ := cfg.History(0, from, mid, 2*step)
	newer, _, _ := cfg.History(0, mid, cfg.Start.Add(time.Hour), step)
	if !older[len(older)-1].EffectiveAt.Before(mid) || newer[0].EffectiveAt.Before(mid) || !newer[len(newer)-1].EffectiveAt.Before(cfg.Start) {
		t.Errorf("histories until %v and from it overlap or run past the start", mid)
	}
	if len(older) != 3*23*24*6 || !slices.ContainsFunc(all, func(r rpm.Reading) bool { return r.DeviceReadingID == older[7].DeviceReadingID }) {
		t.Errorf("a coarser history has %d readings, off the finer grid", len(older))
	}
	if _, _, err := (Config{Devices: cfg.Devices}).History(0, from, cfg.Start, step); err == nil {
		t.Error("History without a start")
	}
}

// TestHistoryTellsTheStory: the history is the run's own patient, with the deterioration's hours
// and the episodes at their frequency in it.
func TestHistoryTellsTheStory(t *testing.T) {
	t.Parallel()
	cfg := historyConfig(t)
	from := cfg.Start.Add(-30 * 24 * time.Hour)
	resolved := cfg
	resolved.BaseURL = "http://vigil.invalid"
	resolved, err := resolved.resolve()
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range cfg.Devices {
		h, err := cfg.newHistory(i, from)
		if err != nil {
			t.Fatal(err)
		}
		if live := newDevice(&resolved, i, d, cfg.Start); !reflect.DeepEqual(h.patient, live.patient) {
			t.Errorf("%s: the history's patient is not the run's", d.ID)
		}
	}

	rs, _, _ := cfg.History(0, from, cfg.Start, 5*time.Minute) // deterioration, 5 h under way at the start
	_, rr := series(rs, rpm.CodeRespRate)
	_, spo2 := series(rs, rpm.CodeSpO2)
	hour, dayBefore := len(rr)-12, len(rr)-24*12
	if d := mean64(rr[hour:]) - mean64(rr[dayBefore:dayBefore+12]); d < 5 {
		t.Errorf("deterioration: respiration rose %.1f /min from a day before to the last hour", d)
	}
	if d := mean64(spo2[dayBefore:dayBefore+12]) - mean64(spo2[hour:]); d < 3 {
		t.Errorf("deterioration: SpO2 fell %.1f %% from a day before to the last hour", d)
	}

	rs, _, _ = cfg.History(1, from, cfg.Start, 5*time.Minute) // hypoxic
	times, spo2 := series(rs, rpm.CodeSpO2)
	if n := countRuns(times, spo2, 90, 5*time.Minute); n < 30*24/8 || n > 30*24/6+1 {
		t.Errorf("hypoxic: %d episodes in 30 days of history, want one every 6–8 hours", n)
	}
	rs, _, _ = cfg.History(2, from, cfg.Start, 5*time.Minute) // hypotensive: the cuff's symptom checks
	times, sbp := series(rs, rpm.CodeSystolicBP)
	if n := countRuns(times, sbp, 89, 4*time.Minute); n < 30*24/12 || n > 30*24/8+1 {
		t.Errorf("hypotensive: %d episodes in 30 days of the cuff's history, want one every 8–12 hours", n)
	}
}

// countRuns counts the runs of values below limit, readings at most gap apart being one run.
func countRuns(times []time.Time, values []float64, limit float64, gap time.Duration) int {
	runs := 0
	var last time.Time
	for i, v := range values {
		if v >= limit {
			continue
		}
		if last.IsZero() || times[i].Sub(last) > gap {
			runs++
		}
		last = times[i]
	}
	return runs
}

func mean64(vs []float64) float64 {
	s := 0.0
	for _, v := range vs {
		s += v
	}
	return s / float64(len(vs))
}
