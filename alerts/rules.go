package alerts

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// MinClearFor is the least time a cleared condition must hold, on fresh readings, before Vigil
// resolves its alert by itself: a value that dips back for a moment does not end an episode. A
// rule may ask for longer, never for less.
const MinClearFor = 2 * time.Minute

// Rule is one alert rule. Values are in the canonical unit of Code, and Unit must say so — a
// threshold never travels without its unit.
type Rule struct {
	ID       string
	Kind     rpm.RuleKind
	Code     string
	Unit     string
	Severity rpm.Severity
	// Critical limits fire on the first reading past them; every other rule confirms an onset
	// with For or Repeat.
	Critical bool

	// Onset confirmation, for every clinical kind: the condition must hold this long (For) and
	// for this many consecutive readings of one device (Repeat; 0 or 1: one). FlatLine: how many
	// identical readings in a row.
	For    time.Duration
	Repeat int
	// ClearFor is how long the clear condition must hold on fresh readings (at least MinClearFor).
	ClearFor time.Duration

	// Threshold (and LowBattery: Limit and Clear as fractions of a full charge).
	Direction rpm.Direction
	Limit     float64
	Clear     float64 // back past this to clear (hysteresis)

	// RateOfChange: a rise (Change > 0) or fall (Change < 0) of at least |Change| within Within.
	Change float64
	Within time.Duration

	// NoData.
	Silence time.Duration

	// NotReporting: silent for Missed expected intervals, and at least MinSilence.
	Missed     int
	MinSilence time.Duration

	// ClockSkew: how far ahead a device's clock may run.
	Skew time.Duration

	// NEWS2Rule.
	MinBand  Band
	RedScore bool
}

// DefaultNotReporting is Vigil's not-reporting rule (migration 010): silent after 3 expected
// intervals, and never before a minute.
var DefaultNotReporting = Rule{Kind: rpm.NotReporting, Severity: rpm.SeverityLow, Missed: 3, MinSilence: time.Minute}

// DefaultLowBattery is Vigil's low-battery rule (migration 010): at or below 15 %, until 25 %.
var DefaultLowBattery = Rule{Kind: rpm.LowBattery, Severity: rpm.SeverityLow, Limit: 0.15, Clear: 0.25}

// Technical reports whether the rule watches a device.
func (r Rule) Technical() bool { return r.Kind.Technical() }

// clearFor is the rule's clear time, never under MinClearFor.
func (r Rule) clearFor() time.Duration { return max(r.ClearFor, MinClearFor) }

// Validate checks that a rule makes sense before it is saved: known kind and code, the canonical
// unit, a clear limit on the normal side of the limit, positive durations, and an onset
// confirmation unless the limit is critical.
func (r Rule) Validate() error {
	switch r.Severity {
	case rpm.SeverityLow, rpm.SeverityMedium, rpm.SeverityHigh:
	default:
		return errors.New("severity must be low, medium or high")
	}
	if r.For < 0 || r.ClearFor < 0 || r.Repeat < 0 {
		return errors.New("durations and repeat counts cannot be negative")
	}
	switch r.Kind {
	case rpm.NEWS2Rule:
		if r.MinBand != BandMedium && r.MinBand != BandHigh && !r.RedScore {
			return errors.New("a NEWS2 rule fires on the medium or high band, or on a single red score")
		}
		return r.validateOnset()
	case rpm.NotReporting:
		if r.Missed < 1 || r.MinSilence <= 0 {
			return errors.New("a not-reporting rule needs a number of missed intervals and a shortest silence")
		}
		return nil
	case rpm.LowBattery:
		if r.Limit <= 0 || r.Limit >= 1 || r.Clear < r.Limit || r.Clear > 1 {
			return errors.New("a low-battery limit is a fraction of a full charge, with a clear level at or above it")
		}
		return nil
	case rpm.FlatLine:
		if r.Repeat < 2 {
			return errors.New("a flat line needs at least 2 identical readings in a row")
		}
		return nil
	case rpm.ClockSkew:
		if r.Skew <= 0 {
			return errors.New("a clock-skew rule needs a positive skew")
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
	case rpm.Threshold:
		if err := r.validateThreshold(); err != nil {
			return err
		}
		return r.validateOnset()
	case rpm.RateOfChange:
		if r.Change == 0 || r.Within <= 0 {
			return errors.New("a rate-of-change rule needs a non-zero change and a positive window")
		}
		return r.validateOnset()
	case rpm.NoData:
		if r.Silence <= 0 {
			return errors.New("a no-data rule needs a positive silence")
		}
		return nil
	}
	return fmt.Errorf("unknown rule kind %q", r.Kind)
}

func (r Rule) validateThreshold() error {
	switch {
	case r.Direction != rpm.Above && r.Direction != rpm.Below:
		return errors.New("a threshold is above or below its limit")
	case r.Direction == rpm.Above && r.Clear > r.Limit, r.Direction == rpm.Below && r.Clear < r.Limit:
		return errors.New("the clear limit must be on the normal side of the limit")
	}
	return nil
}

// validateOnset refuses a clinical rule that would fire on one reading, unless its limit is
// critical: one artefact of a 1 Hz stream must not page anyone.
func (r Rule) validateOnset() error {
	if r.For == 0 && r.Repeat <= 1 && !r.Critical {
		return errors.New("confirm an onset with a duration or readings in a row, or mark the limit critical")
	}
	return nil
}

// Transition is what an observation did to a rule's episode.
type Transition string

// The transitions.
const (
	NoChange  Transition = ""
	Confirmed Transition = "confirmed" // an episode is confirmed: a new alert, or the latched one is back
	Ongoing   Transition = "ongoing"   // the episode goes on: update the open alert, never duplicate it
	Cleared   Transition = "cleared"   // the clear condition held long enough on fresh readings
	// Resumed: the episode goes on, confirmed, after its readings had been back to normal and
	// then stopped for PauseAfter (spot checks hours apart, a sensor taken off): it may have
	// ended unseen in between, so whoever acknowledged it must be told again.
	Resumed Transition = "resumed"
)

// PauseAfter is how long readings must have stopped, after normal ones, for the condition's
// return to count as a return (Resumed) rather than more of the same; an open alert quiet this
// long that fires again is announced as having come back.
const PauseAfter = 15 * time.Minute

// Point is one value at one time.
type Point struct {
	At    time.Time `json:"at"`
	Value float64   `json:"v"`
}
