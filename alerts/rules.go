package alerts

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Kind is what a rule watches for.
type Kind string

// The rule kinds.
const (
	// Threshold: a value above or below a limit, optionally for a duration or a number of
	// consecutive readings, with a separate clear limit (hysteresis).
	Threshold Kind = "threshold"
	// RateOfChange: a change of at least Change within Within ("weight +2 kg in 3 days").
	RateOfChange Kind = "rate_of_change"
	// NoData: no reading of the code for Silence ("no SpO₂ for 15 min").
	NoData Kind = "no_data"
	// NEWS2Rule: the NEWS2 risk band reaches MinBand, or a single parameter scores 3.
	NEWS2Rule Kind = "news2"
)

// Severity is how urgent an alert is.
type Severity string

// The severities, least urgent first.
const (
	Low    Severity = "low"
	Medium Severity = "medium"
	High   Severity = "high"
)

// Direction says which side of a limit is abnormal; an alert is scoped to it, so that
// acknowledging a high never silences a low.
type Direction string

// The directions. NEWS2 and no-data rules have none.
const (
	Above Direction = "above"
	Below Direction = "below"
)

// Rule is one alert rule. Values are in the canonical unit of Code, and Unit must say so — a
// threshold never travels without its unit.
type Rule struct {
	ID       string
	Kind     Kind
	Code     string
	Unit     string
	Severity Severity

	// Threshold.
	Direction Direction
	Limit     float64
	For       time.Duration // the condition must hold this long (0: at once)
	Repeat    int           // and for this many consecutive readings (0 or 1: one)
	Clear     float64       // back past this to clear (hysteresis)
	ClearFor  time.Duration // for this long

	// RateOfChange: a rise (Change > 0) or fall (Change < 0) of at least |Change| within Within.
	Change float64
	Within time.Duration

	// NoData.
	Silence time.Duration

	// NEWS2Rule.
	MinBand  Band
	RedScore bool
}

// Validate checks that a rule makes sense before it is saved: known kind and code, the canonical
// unit, a clear limit on the normal side of the limit, positive durations.
func (r Rule) Validate() error {
	switch r.Severity {
	case Low, Medium, High:
	default:
		return errors.New("severity must be low, medium or high")
	}
	if r.Kind == NEWS2Rule {
		if r.MinBand != BandMedium && r.MinBand != BandHigh && !r.RedScore {
			return errors.New("a NEWS2 rule fires on the medium or high band, or on a single red score")
		}
		return nil
	}
	unit, ok := rpm.CanonicalUnit(r.Code)
	if !ok {
		return fmt.Errorf("code %q is not a measure Vigil accepts", r.Code)
	}
	if r.Unit != unit {
		return fmt.Errorf("limits for %s are in %s, not %q", r.Code, unit, r.Unit)
	}
	switch r.Kind {
	case Threshold:
		return r.validateThreshold()
	case RateOfChange:
		if r.Change == 0 || r.Within <= 0 {
			return errors.New("a rate-of-change rule needs a non-zero change and a positive window")
		}
	case NoData:
		if r.Silence <= 0 {
			return errors.New("a no-data rule needs a positive silence")
		}
	default:
		return fmt.Errorf("unknown rule kind %q", r.Kind)
	}
	return nil
}

func (r Rule) validateThreshold() error {
	switch {
	case r.Direction != Above && r.Direction != Below:
		return errors.New("a threshold is above or below its limit")
	case r.For < 0 || r.ClearFor < 0 || r.Repeat < 0:
		return errors.New("durations and repeat counts cannot be negative")
	case r.Direction == Above && r.Clear > r.Limit, r.Direction == Below && r.Clear < r.Limit:
		return errors.New("the clear limit must be on the normal side of the limit")
	}
	return nil
}

// Transition is what a reading did to a rule's alert.
type Transition string

// The transitions.
const (
	None      Transition = ""
	Fire      Transition = "fire"      // a new alert
	Retrigger Transition = "retrigger" // the open alert's condition holds again: update it, never duplicate it
	Resolve   Transition = "resolve"   // the clear condition held: auto-resolve
)

// State is what a rule remembers about one patient between readings. The engine persists it, so
// durations and repeat counts survive a restart and are the same on every instance.
type State struct {
	Firing        bool
	Breaching     bool
	BreachSince   time.Time
	Count         int
	ClearingSince time.Time
	LastAt        time.Time
	Window        []Point // RateOfChange: readings within the window, oldest first
}

// Point is one value at one time.
type Point struct {
	At    time.Time
	Value float64
}
