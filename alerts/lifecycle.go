package alerts

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// The lifecycle of an alert is a set of pure steps on rpm.Alert: each returns the next alert and
// the event its history records, or ErrNotNow for a step that makes no sense in the alert's state.
// The engine (alerts/watch) applies them under the patient's alert lock and stores the result.

// ErrNotNow is a lifecycle step the alert's state does not allow (acknowledging a resolved alert).
var ErrNotNow = errors.New("alerts: not possible in the alert's current state")

// Open starts an alert when a rule fires: a carries what it is about (patient, rule, device,
// severity, direction, summary); Open makes it a firing alert with the first tier, from at.
func Open(a rpm.Alert, at time.Time) (rpm.Alert, rpm.AlertEvent) {
	a.State, a.Tier, a.TriggerCount = rpm.AlertFiring, 1, max(a.TriggerCount, 1)
	a.OpenedAt, a.LastTriggeredAt, a.EscalatedAt = at, at, at
	return a, rpm.AlertEvent{Kind: rpm.EventFired, At: at}
}

// Retrigger records that the open alert's condition held again. A snoozed alert whose snooze has
// run out fires again; an acknowledged one stays acknowledged.
func Retrigger(a rpm.Alert, at time.Time) (rpm.Alert, rpm.AlertEvent, error) {
	if a.State == rpm.AlertResolved {
		return a, rpm.AlertEvent{}, ErrNotNow
	}
	a.LastTriggeredAt = at
	if !a.RecoveredAt.IsZero() {
		a.RecoveredAt = time.Time{}
		return a, rpm.AlertEvent{Kind: rpm.EventRetriggered, At: at, Note: "back before anyone acknowledged its recovery"}, nil
	}
	if a.State == rpm.AlertAcknowledged && !a.SnoozedUntil.IsZero() && !at.Before(a.SnoozedUntil) {
		a.State, a.SnoozedUntil, a.EscalatedAt = rpm.AlertFiring, time.Time{}, at
	}
	return a, rpm.AlertEvent{Kind: rpm.EventRetriggered, At: at}, nil
}

// Refire puts an acknowledged alert back to firing when it got worse, or came back after a pause:
// the acknowledgement covered it as it was. It escalates afresh from at.
func Refire(a rpm.Alert, at time.Time, note string) (rpm.Alert, rpm.AlertEvent) {
	a.State, a.SnoozedUntil, a.EscalatedAt, a.LastTriggeredAt = rpm.AlertFiring, time.Time{}, at, at
	return a, rpm.AlertEvent{Kind: rpm.EventRetriggered, At: at, Note: note}
}

// Acknowledge says someone is on it: the alert stops escalating.
func Acknowledge(a rpm.Alert, at time.Time, actor, note string) (rpm.Alert, rpm.AlertEvent, error) {
	if a.State != rpm.AlertFiring {
		return a, rpm.AlertEvent{}, ErrNotNow
	}
	a.State, a.AcknowledgedAt = rpm.AlertAcknowledged, at
	return a, rpm.AlertEvent{Kind: rpm.EventAcknowledged, At: at, ActorID: actor, Note: note}, nil
}

// Snooze acknowledges the alert until a chosen time; if its condition still holds then, it fires
// again. It applies to this alert only — never to others of the same severity.
func Snooze(a rpm.Alert, at, until time.Time, actor, note string) (rpm.Alert, rpm.AlertEvent, error) {
	if a.State == rpm.AlertResolved || !until.After(at) {
		return a, rpm.AlertEvent{}, ErrNotNow
	}
	a.State, a.AcknowledgedAt, a.SnoozedUntil = rpm.AlertAcknowledged, at, until
	return a, rpm.AlertEvent{Kind: rpm.EventSnoozed, At: at, ActorID: actor, Note: note}, nil
}

// SnoozeEnded fires a snoozed alert again when its snooze has run out and it is still open. ok is
// false when that is not due.
func SnoozeEnded(a rpm.Alert, now time.Time) (next rpm.Alert, ev rpm.AlertEvent, ok bool) {
	if a.State != rpm.AlertAcknowledged || a.SnoozedUntil.IsZero() || now.Before(a.SnoozedUntil) {
		return a, rpm.AlertEvent{}, false
	}
	a.State, a.SnoozedUntil, a.EscalatedAt = rpm.AlertFiring, time.Time{}, now
	return a, rpm.AlertEvent{Kind: rpm.EventRetriggered, At: now, Note: "snooze ended"}, true
}

// Resolve ends the alert by hand, with a note.
func Resolve(a rpm.Alert, at time.Time, actor, note string) (rpm.Alert, rpm.AlertEvent, error) {
	if a.State == rpm.AlertResolved {
		return a, rpm.AlertEvent{}, ErrNotNow
	}
	a.State, a.ResolvedAt = rpm.AlertResolved, at
	return a, rpm.AlertEvent{Kind: rpm.EventResolved, At: at, ActorID: actor, Note: note}, nil
}

// Latches reports whether the alert must stay until someone acknowledges it even when its
// condition clears: a high alert nobody has acknowledged yet, or one raised late, which nobody can
// have seen while it happened. Technical alerts never latch.
func Latches(a rpm.Alert) bool {
	return a.State == rpm.AlertFiring && !a.Technical() && (a.Severity == rpm.SeverityHigh || a.Late)
}

// Recover is the alert's step when its clear condition has held long enough: a latching alert
// stays, with the recovery noted on it, until someone acknowledges it; any other resolves. ok is
// false when there is nothing to do (resolved, or already recovered).
func Recover(a rpm.Alert, at time.Time) (next rpm.Alert, ev rpm.AlertEvent, ok bool) {
	switch {
	case a.State == rpm.AlertResolved || !a.RecoveredAt.IsZero():
		return a, rpm.AlertEvent{}, false
	case Latches(a):
		a.RecoveredAt = at
		return a, rpm.AlertEvent{Kind: rpm.EventRecovered, At: at, Note: "values back to normal; stays until acknowledged"}, true
	}
	next, ev, err := AutoResolve(a, at)
	return next, ev, err == nil
}

// AutoResolve ends the alert because its clear condition held.
func AutoResolve(a rpm.Alert, at time.Time) (rpm.Alert, rpm.AlertEvent, error) {
	if a.State == rpm.AlertResolved {
		return a, rpm.AlertEvent{}, ErrNotNow
	}
	a.State, a.ResolvedAt = rpm.AlertResolved, at
	return a, rpm.AlertEvent{Kind: rpm.EventAutoResolved, At: at}, nil
}

// Escalate moves a firing alert that nobody acknowledged within the team's window to the next
// tier that has someone on it — staffed lists the tiers of the patient's care teams that do — and
// raises its urgency by one severity. Empty tiers are skipped, and the event says so; an alert on a
// tier with no one on it moves on at once, without waiting for the window or rising in severity.
// When no higher tier has anyone, the alert stays where it is and the event says that instead (ok
// true, Tier unchanged). ok is false when nothing is due: not firing, or within the window.
func Escalate(a rpm.Alert, now time.Time, window time.Duration, staffed []int) (next rpm.Alert, ev rpm.AlertEvent, ok bool) {
	timedOut := now.Sub(a.EscalatedAt) >= window
	empty := !slices.Contains(staffed, a.Tier)
	if a.State != rpm.AlertFiring || !timedOut && !empty {
		return a, rpm.AlertEvent{}, false
	}
	to, skipped := NextTier(a.Tier, staffed)
	a.EscalatedAt = now
	if empty {
		skipped = append([]int{a.Tier}, skipped...)
	}
	if to == 0 {
		return a, rpm.AlertEvent{Kind: rpm.EventNote, At: now, Note: fmt.Sprintf("not acknowledged, and no one at %s to escalate to: still with tier %d",
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
	return a, rpm.AlertEvent{Kind: rpm.EventEscalated, At: now, Note: note}, true
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

func raise(s rpm.Severity) rpm.Severity {
	if s == rpm.SeverityLow {
		return rpm.SeverityMedium
	}
	return rpm.SeverityHigh
}
