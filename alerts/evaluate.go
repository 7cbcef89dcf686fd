package alerts

import (
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Late is the transition of a reading older than the newest one the rule evaluated from the same
// device: the engine replays that device's window in order (see Rule.ReplayWindow).
const Late Transition = "late"

// Evaluate applies one reading to the rule's state and says what it did. Readings of one device
// must come in time order; an older one than the device's last is Late and changes nothing. For a
// per-device rule, st is the device's own episode (State.Device). Evaluate is pure.
func (r Rule) Evaluate(st State, rd rpm.Reading) (State, Transition) {
	if !r.Watches(rd.Code) {
		return st, NoChange
	}
	source := rd.DeviceID
	if r.Kind == rpm.FlatLine {
		source = rd.Code // one episode per device; the codes it sends are its sources
	}
	if st.Late(source, rd.EffectiveAt) {
		return st, Late
	}
	if st.pausedBefore(rd.EffectiveAt) {
		st = st.paused(rd.EffectiveAt)
	}
	o := Observation{Source: source, At: rd.EffectiveAt}
	src := st.Sources[source]
	step := r
	switch r.Kind {
	case rpm.Threshold:
		o.Breach, o.Clear = r.beyond(rd.Value), r.cleared(rd.Value)
	case rpm.RateOfChange:
		var changed bool
		src.Window, changed = r.window(src.Window, rd.Value, rd.EffectiveAt)
		o.Breach, o.Clear = changed, !changed
	case rpm.FlatLine:
		src = src.run(rd.Value, rd.EffectiveAt)
		o.Breach = src.RunCount >= r.Repeat && rd.EffectiveAt.Sub(src.RunSince) >= FlatLimit(rd.Code)
		o.Clear = src.RunCount < r.Repeat // varying: no run long enough to count
		step.For, step.Repeat = 0, 1      // the run is the confirmation
	default:
		return st, NoChange
	}
	st = st.withSource(source, src, rd.EffectiveAt)
	return step.Step(st, o)
}

// Watches reports whether readings of code feed the rule.
func (r Rule) Watches(code string) bool {
	switch r.Kind {
	case rpm.Threshold, rpm.RateOfChange:
		return code == r.Code
	case rpm.FlatLine:
		return FlatLimit(code) > 0
	}
	return false
}

// beyond reports whether v is past the limit on the rule's side (strictly: a limit of 90 below
// fires at 89, not at 90).
func (r Rule) beyond(v float64) bool {
	if r.Direction == rpm.Above {
		return v > r.Limit
	}
	return v < r.Limit
}

// cleared reports whether v is back past the clear limit on the normal side (strictly).
func (r Rule) cleared(v float64) bool {
	if r.Direction == rpm.Above {
		return v < r.Clear
	}
	return v > r.Clear
}

// maxWindow bounds a rate-of-change rule's remembered values per device: enough for a scale or a
// spot-check device over days; a 1 Hz stream keeps its last maxWindow values.
const maxWindow = 512

// window adds a value to a device's rate-of-change window and reports whether the value has
// risen (or fallen) by at least |Change| from any value still within the window.
func (r Rule) window(w []Point, v float64, at time.Time) ([]Point, bool) {
	keep := w[:0:0]
	for _, p := range w {
		if at.Sub(p.At) <= r.Within {
			keep = append(keep, p)
		}
	}
	keep = append(keep, Point{At: at, Value: v})
	if len(keep) > maxWindow {
		keep = keep[len(keep)-maxWindow:]
	}
	for _, p := range keep[:len(keep)-1] {
		d := v - p.Value
		if r.Change > 0 && d >= r.Change || r.Change < 0 && d <= r.Change {
			return keep, true
		}
	}
	return keep, false
}

// Flat lines: how long each continuous measure may repeat one value before it is a stuck sensor
// rather than a patient. A living heart rate varies beat to beat; respiration and pressure vary
// less, so they are given longer. Codes not listed may repeat for hours: SpO₂ (a well patient on
// oxygen reads 100 % all night), temperature, weight, glucose, steps.
var flatLimits = map[string]time.Duration{
	rpm.CodeHeartRate:   10 * time.Minute,
	rpm.CodeRespRate:    20 * time.Minute,
	rpm.CodeSystolicBP:  30 * time.Minute,
	rpm.CodeDiastolicBP: 30 * time.Minute,
}

// FlatLimit is how long readings of code may repeat one value; 0 for codes that may repeat.
func FlatLimit(code string) time.Duration { return flatLimits[code] }

// run extends the source's run of identical values with v, or starts a new one.
func (s Source) run(v float64, at time.Time) Source {
	if s.RunCount > 0 && v == s.RunValue {
		s.RunCount++
		return s
	}
	s.RunValue, s.RunSince, s.RunCount = v, at, 1
	return s
}

// EvaluateNEWS2 says whether a NEWS2 rule's condition holds for a score.
func (r Rule) EvaluateNEWS2(n NEWS2) bool {
	if r.Kind != rpm.NEWS2Rule {
		return false
	}
	rank := map[Band]int{BandLow: 0, BandLowMedium: 1, BandMedium: 2, BandHigh: 3}
	return r.MinBand != "" && rank[n.Band] >= rank[r.MinBand] || r.RedScore && n.RedScore
}

// ObserveNEWS2 is a NEWS2 rule's observation of a score taken at at: the condition holds on the
// score, and clears only when even the ceiling (every stale parameter at its worst) is below it —
// a score that fell because readings went stale has not shown the patient is better. A patient
// with no readings at all is neither.
func (r Rule) ObserveNEWS2(n NEWS2, at time.Time) Observation {
	if n.NoData {
		return Observation{At: at}
	}
	return Observation{At: at, Breach: r.EvaluateNEWS2(n), Clear: !r.EvaluateNEWS2(n.Ceiling())}
}

// SilenceFor is how long a device may go without a reading under a not-reporting rule when it is
// expected to report every interval: Missed intervals, and never less than MinSilence.
func (r Rule) SilenceFor(interval time.Duration) time.Duration {
	return max(time.Duration(r.Missed)*interval, r.MinSilence)
}

// Silent reports whether a no-data rule's silence has run out at now, given the time of the last
// reading of its code (zero if there never was one, counted from since, e.g. the assignment).
func (r Rule) Silent(last, since, now time.Time) bool {
	if r.Kind != rpm.NoData {
		return false
	}
	if last.IsZero() {
		last = since
	}
	return now.Sub(last) >= r.Silence
}

// ObserveBattery is a low-battery rule's observation of a device's reported charge (0–1).
func (r Rule) ObserveBattery(charge float64, at time.Time) Observation {
	return Observation{At: at, Breach: charge <= r.Limit, Clear: charge >= r.Clear}
}

// ObserveClock is a clock-skew rule's observation of how far ahead of Vigil a device's clock ran
// in its latest readings; clear once it is within half the limit.
func (r Rule) ObserveClock(ahead time.Duration, at time.Time) Observation {
	return Observation{At: at, Breach: ahead > r.Skew, Clear: ahead <= r.Skew/2}
}

// Replay runs the rule over readings in time order from an empty state and counts the alerts it
// would have raised: the what-if a clinician sees before changing a threshold. A no-data rule
// counts the gaps between readings at least its silence long.
func (r Rule) Replay(readings []rpm.Reading) int {
	p := r.Replayer()
	for _, rd := range readings {
		p.Add(rd)
	}
	return p.Fired()
}
