package alerts

import (
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Replayer counts the alerts a rule would have raised over readings fed to it one at a time, in
// time order, from an empty state: Replay without holding the readings, for a week of a 1 Hz
// stream. A no-data rule counts the gaps between readings at least its silence long.
type Replayer struct {
	rule  Rule
	st    State
	last  time.Time
	fired int
}

// Replayer returns a replay of the rule from an empty state.
func (r Rule) Replayer() *Replayer { return &Replayer{rule: r} }

// Add feeds the next reading; readings the rule does not watch are ignored.
func (p *Replayer) Add(rd rpm.Reading) {
	if p.rule.Kind == rpm.NoData {
		if rd.Code != p.rule.Code {
			return
		}
		if !p.last.IsZero() && p.rule.Silent(p.last, time.Time{}, rd.EffectiveAt) {
			p.fired++
		}
		p.last = rd.EffectiveAt
		return
	}
	var tr Transition
	if p.st, tr = p.rule.Evaluate(p.st, rd); tr == Confirmed {
		p.fired++
	}
}

// Fired is how many alerts the readings so far would have raised.
func (p *Replayer) Fired() int { return p.fired }

// Onset is an episode found by a replay: the reading that confirmed it, and when it cleared (zero
// while it goes on at the end of the replay).
type Onset struct {
	Reading rpm.Reading
	Cleared time.Time
}

// Replayed is what a replay of one device's window of readings found.
type Replayed struct {
	Onsets       []Onset
	Source       Source    // the device's memory after the window's newest reading
	LastNotClear time.Time // the window's newest reading that was not clear
	Ongoing      bool      // the window ends inside an episode
}

// ReplaySource replays one device's readings of a threshold or rate-of-change rule's code, in
// time order, from an empty memory: how a late reading is evaluated in order with its
// neighbours. The window must reach far enough back to hold what confirms an onset
// (ReplayLookback). restart, when set, is the end of the episode's pause: the device's run past
// the limit starts again there, so a run from before the pause never confirms the return.
func (r Rule) ReplaySource(readings []rpm.Reading, restart time.Time) Replayed {
	var st State
	var out Replayed
	restarted := restart.IsZero()
	for _, rd := range readings {
		if !restarted && !rd.EffectiveAt.Before(restart) {
			st.Sources, restarted = restartRuns(st.Sources), true
		}
		var tr Transition
		st, tr = r.Evaluate(st, rd)
		switch tr {
		case Confirmed:
			out.Onsets = append(out.Onsets, Onset{Reading: rd})
		case Cleared:
			if n := len(out.Onsets); n > 0 {
				out.Onsets[n-1].Cleared = rd.EffectiveAt
			}
		}
		out.Source = st.Sources[rd.DeviceID]
	}
	if !restarted { // every reading was from before the pause: none of its run counts after it
		out.Source = restartRuns(map[string]Source{"": out.Source})[""]
	}
	out.LastNotClear, out.Ongoing = st.LastNotClear, st.Firing
	return out
}

// ReplayLookback is how far before a late reading a replay must start to see what confirms an
// onset around it: the rule's duration, window and clear time. Repeat counts need the readings
// just before too (the engine fetches Repeat more).
func (r Rule) ReplayLookback() time.Duration {
	return max(r.For, r.Within, r.clearFor())
}
