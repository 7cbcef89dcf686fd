package devicesim

import (
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // Europe/London without the machine's zoneinfo

	"github.com/vigil-rpm/vigil/rpm"
)

func london(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// measurements follows Next from `from` until `to`.
func measurements(s Schedule, from, to time.Time, salt uint64) []time.Time {
	var out []time.Time
	for at := s.Next(from, salt); at.Before(to); at = s.Next(at, salt) {
		out = append(out, at)
	}
	return out
}

// TestScheduleNext: a spot-check device measures at each of its times of the local day, within
// its jitter, on the wall clock across a change to summer time, the same times for the same
// salt, and Next is the first of them strictly after any instant.
func TestScheduleNext(t *testing.T) {
	t.Parallel()
	loc := london(t)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, loc) // summer time starts on 29 March 2026
	to := from.AddDate(0, 2, 0)
	days := int(to.Sub(from).Hours()/24 + 0.5)
	for kind, perDay := range map[rpm.DeviceKind]int{rpm.KindBPCuff: 2, rpm.KindThermometer: 2, rpm.KindScale: 1, rpm.KindGlucometer: 4} {
		s := UsualSchedule(kind)
		got := measurements(s, from, to, 42)
		if len(got) != perDay*days {
			t.Fatalf("%s: %d measurements in %d days, want %d a day", kind, len(got), days, perDay)
		}
		offsets := map[time.Duration]bool{}
		for i, at := range got {
			if at.Location() != loc {
				t.Fatalf("%s: %v is not in the patient's time zone", kind, at)
			}
			slot := s.At[i%perDay]
			y, m, d := at.Date()
			off := at.Sub(time.Date(y, m, d, int(slot/time.Hour), int(slot%time.Hour/time.Minute), 0, 0, loc))
			if off < -s.Jitter || off > s.Jitter {
				t.Fatalf("%s: measurement %d at %s, %v from its time of day", kind, i, at.Format(time.DateTime), off)
			}
			offsets[off.Round(time.Minute)] = true
		}
		if len(offsets) < 5 {
			t.Errorf("%s: measurements fall at only %d distinct offsets from their times: no jitter", kind, len(offsets))
		}
		if again := measurements(s, from, to, 42); !slices.Equal(got, again) {
			t.Errorf("%s: the same salt gave other times", kind)
		}
		if other := measurements(s, from, to, 43); slices.Equal(got, other) {
			t.Errorf("%s: another salt gave the same times", kind)
		}
		for _, at := range got[:10] {
			for _, before := range []time.Duration{time.Nanosecond, time.Minute, 2 * time.Hour} {
				if n := s.Next(at.Add(-before), 42); !n.Equal(at) && !n.Before(at) {
					t.Fatalf("%s: Next(%v) = %v skips the measurement at %v", kind, at.Add(-before), n, at)
				}
			}
			if n := s.Next(at, 42); !n.After(at) {
				t.Fatalf("%s: Next(%v) = %v, not strictly after", kind, at, n)
			}
		}
	}
}

func TestContinuousScheduleHasNoTimes(t *testing.T) {
	t.Parallel()
	for _, kind := range []rpm.DeviceKind{rpm.KindPulseOximeter, rpm.KindWearable, rpm.KindBedsideMonitor} {
		s := UsualSchedule(kind)
		if !s.Continuous() || !s.Next(simStart, 1).Equal(simStart) {
			t.Errorf("%s: schedule %+v is not continuous", kind, s)
		}
	}
	if UsualSchedule(rpm.KindScale).Continuous() {
		t.Error("a scale is continuous")
	}
}

// TestScheduledDeviceWaitsForItsTime: a spot-check device measures at its next time on its
// patient's clock, in real time scaled by Speed, and not before.
func TestScheduledDeviceWaitsForItsTime(t *testing.T) {
	t.Parallel()
	loc := london(t)
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, loc)
	for _, speed := range []float64{1, 60} {
		d := testDevice(t, Config{Now: func() time.Time { return now }, Speed: speed},
			Device{ID: "sc", Kind: rpm.KindScale, Schedule: UsualSchedule(rpm.KindScale), Location: loc})
		d.start = now.Add(-time.Hour)
		clock := d.start.Add(time.Duration(float64(time.Hour) * speed)) // the patient's clock now
		next := d.patient.NextMeasurement(clock)
		morning := time.Date(next.Year(), next.Month(), next.Day(), 7, 30, 0, 0, loc)
		if !next.After(clock) || next.Sub(clock) > 24*time.Hour || next.Sub(morning).Abs() > 15*time.Minute {
			t.Errorf("speed %v: at %v the scale's next measurement is at %v", speed, clock, next)
		}
		if w, want := d.untilNext(), time.Duration(float64(next.Sub(clock))/speed); w != want {
			t.Errorf("speed %v: waits %v, want %v", speed, w, want)
		}
	}
}

// TestScheduledDevicePostsAtItsTime: in a run, a spot-check device stays quiet until its time,
// then measures once, at that time.
func TestScheduledDevicePostsAtItsTime(t *testing.T) {
	t.Parallel()
	loc := london(t)
	dev := Device{ID: "th-1", Token: "tok", Kind: rpm.KindThermometer, Schedule: UsualSchedule(rpm.KindThermometer), Location: loc}
	probe := testDevice(t, Config{Seed: 1}, dev)
	slot := probe.patient.NextMeasurement(time.Date(2026, 7, 1, 12, 0, 0, 0, loc)) // the evening's
	offset := time.Until(slot.Add(-30 * time.Millisecond))
	f := newFakeVigil(t, nil)
	cfg := fastConfig(f, dev)
	cfg.Now = func() time.Time { return time.Now().Add(offset) }
	cfg.Start = cfg.Now()
	runUntil(t, cfg, 2*time.Second, func() bool { return f.count() >= 1 })
	ps := f.snapshot()
	if len(ps) != 1 {
		t.Fatalf("%d batches, want the one measurement", len(ps))
	}
	if at := ps[0].measured; at.Before(slot.Truncate(time.Millisecond)) { // "at" has milliseconds
		t.Errorf("measured at %v, before its time %v", at, slot)
	}
}
