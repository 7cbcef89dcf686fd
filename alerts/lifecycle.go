package alerts

import (
	"errors"
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

// AutoResolve ends the alert because its clear condition held.
func (a Alert) AutoResolve(at time.Time) (Alert, Event, error) {
	if a.State == Resolved {
		return a, Event{}, ErrNotNow
	}
	a.State, a.ResolvedAt = Resolved, at
	return a, Event{Kind: EventAutoResolved, At: at}, nil
}

// Escalate moves a firing alert that nobody acknowledged within the team's window to the next
// tier, up to maxTier, and raises its urgency by one severity. ok is false when it is not due.
func (a Alert) Escalate(now time.Time, window time.Duration, maxTier int) (next Alert, ev Event, ok bool) {
	if a.State != Firing || a.Tier >= maxTier || now.Sub(a.EscalatedAt) < window {
		return a, Event{}, false
	}
	a.Tier++
	a.EscalatedAt = now
	a.Severity = raise(a.Severity)
	return a, Event{Kind: EventEscalated, At: now}, true
}

func raise(s Severity) Severity {
	switch s {
	case Low:
		return Medium
	default:
		return High
	}
}
