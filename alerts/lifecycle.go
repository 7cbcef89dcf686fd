package alerts

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// State of an alert in its life: firing until someone acknowledges it, resolved at the end.
type AlertState string

// The alert states (migration 003).
const (
	Firing       AlertState = "firing"
	Acknowledged AlertState = "acknowledged"
	Resolved     AlertState = "resolved"
)

// EventKind names one step of an alert's life, as its history records it.
type EventKind string

// The event kinds (migration 003's alert_events).
const (
	EventFired        EventKind = "fired"
	EventRetriggered  EventKind = "retriggered"
	EventAcknowledged EventKind = "acknowledged"
	EventSnoozed      EventKind = "snoozed"
	EventEscalated    EventKind = "escalated"
	EventResolved     EventKind = "resolved"
	EventAutoResolved EventKind = "auto_resolved"
	EventRecovered    EventKind = "recovered"
	EventNote         EventKind = "note"
)

// Event is one step of an alert's history: what, when, by whom ("" for Vigil itself), and a note.
type Event struct {
	Kind  EventKind
	At    time.Time
	Actor string
	Note  string
}

// Alert is one open or past alert of one patient, rule and direction. Its methods are pure: they
// return the next alert and the event to record, or an error for a step that makes no sense now.
type Alert struct {
	State           AlertState
	Severity        Severity
	Direction       Direction
	Tier            int // the care-team tier it has reached (1: first responders)
	OpenedAt        time.Time
	LastTriggeredAt time.Time
	EscalatedAt     time.Time // when it last reached a new tier (OpenedAt at first)
	AcknowledgedAt  time.Time
	SnoozedUntil    time.Time
	ResolvedAt      time.Time
	// RecoveredAt is when the condition cleared while the alert stayed latched, waiting for an
	// acknowledgement (zero while it has not, or when it came back).
	RecoveredAt time.Time
	// Late says the alert was raised by readings that arrived after newer ones were evaluated.
	Late bool
	// Technical: the alert is about a device; it neither latches nor escalates.
	Technical bool
}

// ErrNotNow is a lifecycle step the alert's state does not allow (acknowledging a resolved alert).
var ErrNotNow = errors.New("alerts: not possible in the alert's current state")

// Open starts an alert when a rule fires.
func Open(at time.Time, severity Severity, direction Direction) (Alert, Event) {
	return Alert{State: Firing, Severity: severity, Direction: direction, Tier: 1, OpenedAt: at, LastTriggeredAt: at,
		EscalatedAt: at}, Event{Kind: EventFired, At: at}
}

// Retrigger records that the open alert's condition held again. A snoozed alert whose snooze has
// run out fires again; an acknowledged one stays acknowledged.
func (a Alert) Retrigger(at time.Time) (Alert, Event, error) {
	if a.State == Resolved {
		return a, Event{}, ErrNotNow
	}
	a.LastTriggeredAt = at
	if !a.RecoveredAt.IsZero() {
		a.RecoveredAt = time.Time{}
		return a, Event{Kind: EventRetriggered, At: at, Note: "back before anyone acknowledged its recovery"}, nil
	}
	if a.State == Acknowledged && !a.SnoozedUntil.IsZero() && !at.Before(a.SnoozedUntil) {
		a.State, a.SnoozedUntil, a.EscalatedAt = Firing, time.Time{}, at
	}
	return a, Event{Kind: EventRetriggered, At: at}, nil
}

// Refire puts an acknowledged alert back to firing, when it got worse or came back after a quiet
// spell: the acknowledgement covered it as it was. It escalates afresh from at.
func (a Alert) Refire(at time.Time, note string) (Alert, Event) {
	a.State, a.SnoozedUntil, a.EscalatedAt, a.LastTriggeredAt = Firing, time.Time{}, at, at
	return a, Event{Kind: EventRetriggered, At: at, Note: note}
}

// Acknowledge says someone is on it: the alert stops escalating.
func (a Alert) Acknowledge(at time.Time, actor, note string) (Alert, Event, error) {
	if a.State != Firing {
		return a, Event{}, ErrNotNow
	}
	a.State, a.AcknowledgedAt = Acknowledged, at
	return a, Event{Kind: EventAcknowledged, At: at, Actor: actor, Note: note}, nil
}

// Snooze acknowledges the alert until a chosen time; if its condition still holds then, it fires
// again. It applies to this alert only — never to others of the same severity.
func (a Alert) Snooze(at, until time.Time, actor, note string) (Alert, Event, error) {
	if a.State == Resolved || !until.After(at) {
		return a, Event{}, ErrNotNow
	}
	a.State, a.AcknowledgedAt, a.SnoozedUntil = Acknowledged, at, until
	return a, Event{Kind: EventSnoozed, At: at, Actor: actor, Note: note}, nil
}

// SnoozeEnded fires a snoozed alert again when its snooze has run out and it is still open. ok is
// false when that is not due.
func (a Alert) SnoozeEnded(now time.Time) (next Alert, ev Event, ok bool) {
	if a.State != Acknowledged || a.SnoozedUntil.IsZero() || now.Before(a.SnoozedUntil) {
		return a, Event{}, false
	}
	a.State, a.SnoozedUntil, a.EscalatedAt = Firing, time.Time{}, now
	return a, Event{Kind: EventRetriggered, At: now, Note: "snooze ended"}, true
}

// Resolve ends the alert by hand, with a note.
func (a Alert) Resolve(at time.Time, actor, note string) (Alert, Event, error) {
	if a.State == Resolved {
		return a, Event{}, ErrNotNow
	}
	a.State, a.ResolvedAt = Resolved, at
	return a, Event{Kind: EventResolved, At: at, Actor: actor, Note: note}, nil
}

// Latches reports whether the alert must stay until someone acknowledges it even when its
// condition clears: a high alert nobody has acknowledged yet, or one raised late, which nobody can
// have seen while it happened.
func (a Alert) Latches() bool {
	return a.State == Firing && !a.Technical && (a.Severity == High || a.Late)
}

// Recover is the alert's step when its clear condition has held long enough: a latching alert
// stays, with the recovery noted on it, until someone acknowledges it; any other resolves. ok is
// false when there is nothing to do (resolved, or already recovered).
func (a Alert) Recover(at time.Time) (next Alert, ev Event, ok bool) {
	switch {
	case a.State == Resolved || !a.RecoveredAt.IsZero():
		return a, Event{}, false
	case a.Latches():
		a.RecoveredAt = at
		return a, Event{Kind: EventRecovered, At: at, Note: "values back to normal; stays until acknowledged"}, true
	}
	next, ev, err := a.AutoResolve(at)
	return next, ev, err == nil
}

// AutoResolve ends the alert because its clear condition held.
func (a Alert) AutoResolve(at time.Time) (Alert, Event, error) {
	if a.State == Resolved {
		return a, Event{}, ErrNotNow
	}
	a.State, a.ResolvedAt = Resolved, at
	return a, Event{Kind: EventAutoResolved, At: at}, nil
}

// Escalate moves a firing alert that nobody acknowledged within the team's window to the next
// tier that has someone on it — staffed lists the tiers of the patient's care teams that do — and
// raises its urgency by one severity. Empty tiers are skipped, and the event says so; an alert on a
// tier with no one on it moves on at once, without waiting for the window or rising in severity.
// When no higher tier has anyone, the alert stays where it is and the event says that instead (ok
// true, Tier unchanged). ok is false when nothing is due: not firing, or within the window.
func (a Alert) Escalate(now time.Time, window time.Duration, staffed []int) (next Alert, ev Event, ok bool) {
	timedOut := now.Sub(a.EscalatedAt) >= window
	empty := !slices.Contains(staffed, a.Tier)
	if a.State != Firing || !timedOut && !empty {
		return a, Event{}, false
	}
	to, skipped := NextTier(a.Tier, staffed)
	a.EscalatedAt = now
	if empty {
		skipped = append([]int{a.Tier}, skipped...)
	}
	if to == 0 {
		return a, Event{Kind: EventNote, At: now, Note: fmt.Sprintf("not acknowledged, and no one at %s to escalate to: still with tier %d",
			tierWords(skipped), a.Tier)}, true
	}
	a.Tier = to
	note := fmt.Sprintf("not acknowledged within %s: now with tier %d", ShortDuration(window), to)
	switch {
	case !timedOut:
		note = fmt.Sprintf("no one at %s: now with tier %d", tierWords(skipped), to)
	case len(skipped) > 0:
		note = fmt.Sprintf("not acknowledged within %s; no one at %s: now with tier %d", ShortDuration(window), tierWords(skipped), to)
	}
	if timedOut {
		a.Severity = raise(a.Severity)
	}
	return a, Event{Kind: EventEscalated, At: now, Note: note}, true
}

// MaxTier is a care team's last escalation tier.
const MaxTier = 3

// NextTier is the first tier above current that has someone on it (0 when none does), and the
// empty tiers passed over on the way — all the higher ones when none is staffed.
func NextTier(current int, staffed []int) (int, []int) {
	var skipped []int
	for t := current + 1; t <= MaxTier; t++ {
		if slices.Contains(staffed, t) {
			return t, skipped
		}
		skipped = append(skipped, t)
	}
	return 0, skipped
}

// tierWords says tiers as a person would: "tier 2", "tiers 2 and 3".
func tierWords(tiers []int) string {
	switch len(tiers) {
	case 0:
		return "any higher tier"
	case 1:
		return fmt.Sprintf("tier %d", tiers[0])
	}
	if len(tiers) == 2 {
		return fmt.Sprintf("tiers %d and %d", tiers[0], tiers[1])
	}
	return "any tier"
}

func raise(s Severity) Severity {
	switch s {
	case Low:
		return Medium
	default:
		return High
	}
}
