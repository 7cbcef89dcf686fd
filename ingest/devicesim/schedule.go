package devicesim

import (
	"fmt"
	"slices"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Schedule is when a spot-check device is used: at fixed times of the patient's local day, each
// moved by up to ±Jitter, because people are not punctual. The zero Schedule is a continuous
// device's: it measures every [Config.Interval].
type Schedule struct {
	// At lists the times of day, as offsets from local midnight in [0, 24 h).
	At []time.Duration
	// Jitter is the most a measurement comes before or after its time; at most maxJitter.
	Jitter time.Duration
}

// maxJitter bounds Schedule.Jitter, so a day's measurements stay near their own day.
const maxJitter = 2 * time.Hour

// scheduleSalt keeps a schedule's jitter apart from the other draws made from a patient's salt.
const scheduleSalt = 0x5c4ed01e5c4ed01e

// Continuous reports whether s is the zero schedule: measure every interval.
func (s Schedule) Continuous() bool { return len(s.At) == 0 }

// Next returns the first measurement time of s strictly after t. The days are t's local days:
// pass t in the patient's time zone (a time of day falls on the wall clock, summer time or not).
// salt draws each day's jitter, so one salt always gives the same times. A continuous schedule
// has no times of its own: Next returns t.
func (s Schedule) Next(t time.Time, salt uint64) time.Time {
	if s.Continuous() {
		return t
	}
	y, m, d := t.Date()
	var next time.Time
	for day := d - 1; day <= d+2; day++ { // jitter can move a measurement into the day before
		for i := range s.At {
			if at := s.on(y, m, day, i, t.Location(), salt); at.After(t) && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	return next
}

// on is the i-th measurement of the local day y-m-d (d may run past the month: time.Date
// normalises it).
func (s Schedule) on(y int, m time.Month, d, i int, loc *time.Location, salt uint64) time.Time {
	of := s.At[i]
	midnight := time.Date(y, m, d, 0, 0, 0, 0, loc)
	day := uint64(midnight.Year())<<9 | uint64(midnight.YearDay())
	jitter := time.Duration((2*unit(salt^scheduleSalt^day*0x9e3779b97f4a7c15^uint64(i+1)<<48) - 1) * float64(s.Jitter))
	wall := time.Date(midnight.Year(), midnight.Month(), midnight.Day(),
		int(of/time.Hour), int(of%time.Hour/time.Minute), int(of%time.Minute/time.Second), 0, loc)
	return wall.Add(jitter)
}

// check reports what is wrong with s, if anything.
func (s Schedule) check() error {
	for _, at := range s.At {
		if at < 0 || at >= 24*time.Hour {
			return fmt.Errorf("schedule time %v is not a time of day", at)
		}
	}
	if s.Jitter < 0 || s.Jitter > maxJitter {
		return fmt.Errorf("schedule jitter %v is outside 0–%v", s.Jitter, maxJitter)
	}
	return nil
}

// usualSchedules are when patients at home usually measure with spot-check devices, local time.
var usualSchedules = map[rpm.DeviceKind]Schedule{
	rpm.KindBPCuff:      {At: []time.Duration{clock(8, 0), clock(20, 0)}, Jitter: 20 * time.Minute},
	rpm.KindThermometer: {At: []time.Duration{clock(8, 5), clock(20, 5)}, Jitter: 20 * time.Minute},
	rpm.KindScale:       {At: []time.Duration{clock(7, 30)}, Jitter: 15 * time.Minute}, // after waking, before breakfast
	// Before each meal and at bedtime.
	rpm.KindGlucometer: {At: []time.Duration{clock(7, 15), clock(11, 45), clock(17, 45), clock(22, 0)}, Jitter: 15 * time.Minute},
}

// UsualSchedule returns when a patient at home usually measures with a device of kind: blood
// pressure and temperature morning and evening, weight once in the morning, glucose before meals
// and at bedtime. Pulse oximeters, wearables and bedside monitors are continuous: the zero Schedule.
func UsualSchedule(kind rpm.DeviceKind) Schedule {
	s := usualSchedules[kind]
	s.At = slices.Clone(s.At)
	return s
}

// clock is a time of day as an offset from midnight.
func clock(hour, minute int) time.Duration {
	return time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute
}
