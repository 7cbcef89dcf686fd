package alerts

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// State is what a rule remembers about one patient between observations — for a per-device rule,
// about each of the patient's devices (Devices). The engine persists it, so durations and repeat
// counts survive a restart and are the same on every instance.
//
// An episode opens when one source (a device; "" for a patient-wide score) confirms the condition
// on its own readings, for the rule's duration and repeat count: readings of two devices never
// add up to a confirmation, and one device's normal reading never interrupts another's breach.
// It clears only when the clear condition has held on fresh readings for the clear time with no
// reading from any source that was not clear in between: one device's normal readings never
// resolve an episode another device is still reporting.
type State struct {
	Firing        bool              `json:"firing,omitempty"`
	Sources       map[string]Source `json:"sources,omitempty"`
	LastNotClear  time.Time         `json:"last_not_clear,omitzero"` // newest reading, of any source, that was not clear
	ClearingSince time.Time         `json:"clearing_since,omitzero"` // first clear reading after it
	Devices       map[string]State  `json:"devices,omitempty"`       // per-device rules: one episode per device
	// Held: a clinician resolved the episode's alert by hand while its condition held; nothing
	// fires again until the condition has been seen clear (a device that was known to be off).
	Held bool `json:"held,omitempty"`
	// Paused: during the episode, readings came back to normal and then stopped for PauseAfter
	// — from PausedFrom, the last reading before the gap, to PausedTo, the first after it; its
	// next confirmed breach is a return (Resumed). Late readings that fill the gap undo it (Filled).
	Paused     bool      `json:"paused,omitempty"`
	PausedFrom time.Time `json:"paused_from,omitzero"`
	PausedTo   time.Time `json:"paused_to,omitzero"`
}

// Source is what a rule remembers about one source's readings.
type Source struct {
	LastAt      time.Time `json:"last_at,omitzero"` // newest reading evaluated: an older one is late
	Breaching   bool      `json:"breaching,omitempty"`
	BreachSince time.Time `json:"breach_since,omitzero"`
	Count       int       `json:"count,omitempty"`  // consecutive breaching readings, up to what confirms
	Window      []Point   `json:"window,omitempty"` // RateOfChange: the source's readings within the window
	// FlatLine: the run of identical values the source is in.
	RunValue float64   `json:"run_value,omitempty"`
	RunSince time.Time `json:"run_since,omitzero"`
	RunCount int       `json:"run_count,omitempty"`
}

// Observation is one look at a rule's condition: from which source, when, whether the condition
// holds (Breach), and whether the clear condition does (Clear). Between a threshold's limit and
// its clear limit neither holds.
type Observation struct {
	Source        string
	At            time.Time
	Breach, Clear bool
}

// sourceMemory is how long a source that stopped reporting is remembered.
const sourceMemory = 7 * 24 * time.Hour

// Step applies one observation to the rule's episode and says what it did. Observations of one
// source must come in time order; the caller replays late ones (see Late). Step is pure.
func (r Rule) Step(st State, o Observation) (State, Transition) {
	src := st.Sources[o.Source]
	if o.At.After(src.LastAt) {
		src.LastAt = o.At
	}
	if o.Breach {
		if !src.Breaching {
			src.Breaching, src.BreachSince, src.Count = true, o.At, 0
		}
		src.Count = min(src.Count+1, max(r.Repeat, 1))
	} else {
		src.Breaching, src.BreachSince, src.Count = false, time.Time{}, 0
	}
	st = st.withSource(o.Source, src, o.At)
	if o.Clear {
		if o.At.After(st.LastNotClear) && (st.ClearingSince.IsZero() || o.At.Before(st.ClearingSince)) {
			st.ClearingSince = o.At
		}
	} else {
		if o.At.After(st.LastNotClear) {
			st.LastNotClear = o.At
		}
		if !st.ClearingSince.IsZero() && !o.At.Before(st.ClearingSince) {
			st.ClearingSince = time.Time{}
		}
	}
	if st.Held {
		st.Held = !o.Clear
		return st, NoChange
	}
	var tr Transition
	switch {
	case o.Breach && st.Firing && r.confirmed(src, o.At) && st.Paused:
		st.Paused, tr = false, Resumed
	case o.Breach && st.Firing && r.confirmed(src, o.At):
		tr = Ongoing // the episode goes on, confirmed: a lone reading past the limit is not a repeat
	case o.Breach && st.Firing:
	case o.Breach && r.confirmed(src, o.At):
		st.Firing, st.ClearingSince, tr = true, time.Time{}, Confirmed
	case st.Firing && o.Clear && !st.ClearingSince.IsZero() && o.At.Sub(st.ClearingSince) >= r.clearFor():
		st.Firing, tr = false, Cleared
	}
	if !st.Firing { // clearing matters only during an episode: no row for a patient who is well
		st.LastNotClear, st.ClearingSince = time.Time{}, time.Time{}
		st.Paused, st.PausedFrom, st.PausedTo = false, time.Time{}, time.Time{}
	}
	return st, tr
}

// pausedBefore reports whether a reading taken at at ends a pause: the episode is clearing, and
// no source's reading came for PauseAfter before it. Only readings pause an episode — a score
// or device check the timers make at a time of their own does not (their outage is no pause).
func (st State) pausedBefore(at time.Time) bool {
	return st.Firing && !st.ClearingSince.IsZero() && at.Sub(st.lastSeen()) >= PauseAfter
}

// paused is st when its readings, back to normal, then stopped until at: the episode may have
// ended unseen, so its return must be confirmed afresh — every source's run past the limit, and
// run of identical values, starts again — and is announced (Resumed).
func (st State) paused(at time.Time) State {
	st.PausedFrom, st.PausedTo = st.lastSeen(), at
	st.Sources, st.Paused = restartRuns(st.Sources), true
	return st
}

// restartRuns is sources with every run — past the limit, or of identical values — forgotten.
func restartRuns(sources map[string]Source) map[string]Source {
	out := make(map[string]Source, len(sources))
	for k, s := range sources {
		s.Breaching, s.BreachSince, s.Count = false, time.Time{}, 0
		s.RunValue, s.RunSince, s.RunCount = 0, time.Time{}, 0
		out[k] = s
	}
	return out
}

// Filled is st after late readings taken at times arrived: a pause they leave no PauseAfter gap
// in was no pause (a device that sent its newest reading first and its backlog after); one they
// only narrow keeps its largest gap.
func (st State) Filled(times []time.Time) State {
	if !st.Paused {
		return st
	}
	from, to := st.PausedFrom, st.PausedTo
	edges := []time.Time{from, to}
	for _, t := range times {
		if t.After(from) && t.Before(to) {
			edges = append(edges, t)
		}
	}
	if len(edges) == 2 {
		return st
	}
	slices.SortFunc(edges, time.Time.Compare)
	var gapFrom, gapTo time.Time
	for i := 1; i < len(edges); i++ {
		if edges[i].Sub(edges[i-1]) > gapTo.Sub(gapFrom) {
			gapFrom, gapTo = edges[i-1], edges[i]
		}
	}
	if gapTo.Sub(gapFrom) < PauseAfter {
		st.Paused, st.PausedFrom, st.PausedTo = false, time.Time{}, time.Time{}
		return st
	}
	st.PausedFrom, st.PausedTo = gapFrom, gapTo
	return st
}

// lastSeen is the time of the newest reading the rule evaluated, from any source.
func (st State) lastSeen() time.Time {
	var last time.Time
	for _, s := range st.Sources {
		if s.LastAt.After(last) {
			last = s.LastAt
		}
	}
	return last
}

// confirmed reports whether a source's breach has lasted the rule's duration and repeat count.
func (r Rule) confirmed(src Source, at time.Time) bool {
	return src.Breaching && at.Sub(src.BreachSince) >= r.For && src.Count >= max(r.Repeat, 1)
}

// withSource is st with one source's memory replaced, and sources quiet for sourceMemory forgotten
// (a device taken off the patient, say), breaching or not. It never changes the maps of the state
// it came from.
func (st State) withSource(name string, src Source, at time.Time) State {
	sources := make(map[string]Source, len(st.Sources)+1)
	for k, s := range st.Sources {
		if k == name || at.Sub(s.LastAt) < sourceMemory {
			sources[k] = s
		}
	}
	sources[name] = src
	st.Sources = sources
	return st
}

// Late reports whether a reading of source at at is older than the newest one the rule evaluated
// from that source: it must be replayed in order with its neighbours, not stepped.
func (st State) Late(source string, at time.Time) bool {
	last := st.Sources[source].LastAt
	return !last.IsZero() && at.Before(last)
}

// Replayed is st after a replay of one device's window (Rule.ReplaySource): the device's memory is
// the replay's, and a reading in it that was not clear holds back a clearing under way.
func (st State) Replayed(device string, rp Replayed) State {
	return st.withSource(device, rp.Source, rp.Source.LastAt).HeldBack(rp.LastNotClear)
}

// HeldBack is st after a replay of readings that did not reach the device's newest one: its
// memory stays, but a reading in the replay that was not clear holds back a clearing under way.
func (st State) HeldBack(lastNotClear time.Time) State {
	if st.Firing && lastNotClear.After(st.LastNotClear) {
		st.LastNotClear = lastNotClear
	}
	if !st.ClearingSince.IsZero() && !lastNotClear.Before(st.ClearingSince) {
		st.ClearingSince = time.Time{}
	}
	return st
}

// Device is the episode of one device under a per-device rule.
func (st State) Device(id string) State { return st.Devices[id] }

// WithDevice is st with one device's episode replaced; an empty episode is dropped.
func (st State) WithDevice(id string, dev State) State {
	devices := maps.Clone(st.Devices)
	if devices == nil {
		devices = map[string]State{}
	}
	if dev.empty() {
		delete(devices, id)
	} else {
		devices[id] = dev
	}
	st.Devices = devices
	return st
}

// empty reports whether the state remembers nothing worth keeping: no episode, no breach and no
// clearing under way. (LastAt alone is not worth a row: a reading older than a forgotten LastAt is
// simply evaluated.)
func (st State) empty() bool {
	if st.Firing || st.Held || !st.ClearingSince.IsZero() || len(st.Devices) > 0 {
		return false
	}
	for _, s := range st.Sources {
		if s.Breaching || len(s.Window) > 0 || s.RunCount > 1 {
			return false
		}
	}
	return true
}

// EncodeState is a rule state as stored; nil when it remembers nothing worth a row.
func EncodeState(st State) []byte {
	if st.empty() {
		return nil
	}
	b, _ := json.Marshal(st)
	return b
}

// legacyState is a state as Vigil stored it before episodes had sources (migration 010).
type legacyState struct {
	Breaching   bool      `json:"Breaching"`
	BreachSince time.Time `json:"BreachSince"`
	Count       int       `json:"Count"`
	LastAt      time.Time `json:"LastAt"`
	Window      []Point   `json:"Window"`
	Clearing    time.Time `json:"ClearingSince"`
}

// DecodeState reads a stored state; nil or unreadable gives the empty state. A state stored
// before sources existed keeps its episode and clearing; its breach is remembered under the
// source "" until the next reading.
func DecodeState(b []byte) State {
	var st State
	if len(b) == 0 || json.Unmarshal(b, &st) != nil {
		return State{}
	}
	var old legacyState
	if st.Sources == nil && json.Unmarshal(b, &old) == nil && (old.Breaching || !old.LastAt.IsZero() || len(old.Window) > 0) {
		st.Sources = map[string]Source{"": {LastAt: old.LastAt, Breaching: old.Breaching, BreachSince: old.BreachSince,
			Count: old.Count, Window: old.Window}}
		st.ClearingSince = old.Clearing
	}
	return st
}
