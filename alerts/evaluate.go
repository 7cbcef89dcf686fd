package alerts

import (
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Evaluate applies one reading of the rule's code to the rule's state and says what it did.
// Readings must come in time order per patient; an older one than the last seen changes nothing.
// Evaluate is pure: the same state and reading always give the same result.
func (r Rule) Evaluate(st State, rd rpm.Reading) (State, Transition) {
	if rd.Code != r.Code || !st.LastAt.IsZero() && rd.EffectiveAt.Before(st.LastAt) {
		return st, None
	}
	st.LastAt = rd.EffectiveAt
	switch r.Kind {
	case Threshold:
		return r.threshold(st, rd.Value, rd.EffectiveAt)
	case RateOfChange:
		return r.rateOfChange(st, rd.Value, rd.EffectiveAt)
	}
	return st, None
}

// beyond reports whether v is past the limit on the rule's side (strictly: a limit of 90 below
// fires at 89, not at 90).
func (r Rule) beyond(v float64) bool {
	if r.Direction == Above {
		return v > r.Limit
	}
	return v < r.Limit
}

// cleared reports whether v is back past the clear limit on the normal side (strictly).
func (r Rule) cleared(v float64) bool {
	if r.Direction == Above {
		return v < r.Clear
	}
	return v > r.Clear
}

func (r Rule) threshold(st State, v float64, at time.Time) (State, Transition) {
	if r.beyond(v) {
		if !st.Breaching {
			st.Breaching, st.BreachSince, st.Count = true, at, 0
		}
		st.Count++
		st.ClearingSince = time.Time{}
		if st.Firing {
			return st, Retrigger
		}
		if at.Sub(st.BreachSince) >= r.For && st.Count >= max(r.Repeat, 1) {
			st.Firing = true
			return st, Fire
		}
		return st, None
	}
	st.Breaching, st.Count = false, 0
	if !st.Firing {
		return st, None
	}
	if !r.cleared(v) {
		st.ClearingSince = time.Time{} // between the limits: neither breaching nor clear
		return st, None
	}
	if st.ClearingSince.IsZero() {
		st.ClearingSince = at
	}
	if at.Sub(st.ClearingSince) >= r.ClearFor {
		st.Firing, st.ClearingSince = false, time.Time{}
		return st, Resolve
	}
	return st, None
}

// maxWindow bounds a rate-of-change rule's remembered values: enough for a scale or a spot-check
// device over days; a 1 Hz stream keeps its last maxWindow values.
const maxWindow = 512

// rateOfChange fires when the value has risen (or fallen) by at least |Change| from the lowest
// (or highest) value within the window, and resolves when it no longer has.
func (r Rule) rateOfChange(st State, v float64, at time.Time) (State, Transition) {
	keep := st.Window[:0:0]
	for _, p := range st.Window {
		if at.Sub(p.At) <= r.Within {
			keep = append(keep, p)
		}
	}
	st.Window = append(keep, Point{At: at, Value: v})
	if len(st.Window) > maxWindow {
		st.Window = st.Window[len(st.Window)-maxWindow:]
	}
	changed := false
	for _, p := range st.Window[:len(st.Window)-1] {
		d := v - p.Value
		if r.Change > 0 && d >= r.Change || r.Change < 0 && d <= r.Change {
			changed = true
			break
		}
	}
	switch {
	case changed && st.Firing:
		return st, Retrigger
	case changed:
		st.Firing = true
		return st, Fire
	case st.Firing:
		st.Firing = false
		return st, Resolve
	}
	return st, None
}

// Silent reports whether a no-data rule's silence has run out at now, given the time of the last
// reading of its code (zero if there never was one, counted from since, e.g. the assignment).
func (r Rule) Silent(last, since, now time.Time) bool {
	if r.Kind != NoData {
		return false
	}
	if last.IsZero() {
		last = since
	}
	return now.Sub(last) >= r.Silence
}

// EvaluateNEWS2 says whether a NEWS2 rule's condition holds for a score.
func (r Rule) EvaluateNEWS2(n NEWS2) bool {
	if r.Kind != NEWS2Rule {
		return false
	}
	rank := map[Band]int{BandLow: 0, BandLowMedium: 1, BandMedium: 2, BandHigh: 3}
	return r.MinBand != "" && rank[n.Band] >= rank[r.MinBand] || r.RedScore && n.RedScore
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
