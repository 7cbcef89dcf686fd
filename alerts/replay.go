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

// Add feeds the next reading; readings of other codes are ignored.
func (p *Replayer) Add(rd rpm.Reading) {
	if p.rule.Kind == NoData {
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
	if p.st, tr = p.rule.Evaluate(p.st, rd); tr == Fire {
		p.fired++
	}
}

// Fired is how many alerts the readings so far would have raised.
func (p *Replayer) Fired() int { return p.fired }
