package alerts

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

func TestAlertLifecycle(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	a, ev := Open(rpm.Alert{Severity: rpm.SeverityMedium, Direction: rpm.Below}, at(0))
	if a.State != rpm.AlertFiring || a.Tier != 1 || ev.Kind != rpm.EventFired {
		t.Fatalf("open: %+v %+v", a, ev)
	}
	staffed := []int{1, 2, 3}
	// Not acknowledged within 15 minutes: escalates to tier 2 and becomes more urgent.
	if _, _, ok := Escalate(a, at(14), 15*time.Minute, staffed); ok {
		t.Error("escalated before the window")
	}
	a, ev, ok := Escalate(a, at(15), 15*time.Minute, staffed)
	if !ok || a.Tier != 2 || a.Severity != rpm.SeverityHigh || ev.Kind != rpm.EventEscalated {
		t.Fatalf("escalation: %+v %+v %v", a, ev, ok)
	}
	// The next escalation needs a whole new window.
	if _, _, ok := Escalate(a, at(29), 15*time.Minute, staffed); ok {
		t.Error("escalated again too soon")
	}
	a, _, _ = Escalate(a, at(30), 15*time.Minute, staffed)
	if next, ev, _ := Escalate(a, at(60), 15*time.Minute, staffed); next.Tier != 3 || ev.Kind != rpm.EventNote {
		t.Errorf("escalated past the last tier: %+v %+v", next, ev)
	}
	// rpm.AlertAcknowledged: no more escalation; a repeat of the condition keeps it acknowledged.
	a, ev, err := Acknowledge(a, at(31), "kim", "calling the patient")
	if err != nil || a.State != rpm.AlertAcknowledged || ev.ActorID != "kim" {
		t.Fatalf("acknowledge: %+v %v", a, err)
	}
	if _, _, ok := Escalate(a, at(90), 15*time.Minute, staffed); ok {
		t.Error("an acknowledged alert escalated")
	}
	a, _, _ = Retrigger(a, at(40))
	if a.State != rpm.AlertAcknowledged || !a.LastTriggeredAt.Equal(at(40)) {
		t.Errorf("retrigger of an acknowledged alert: %+v", a)
	}
	if _, _, err := Acknowledge(a, at(41), "kim", ""); !errors.Is(err, ErrNotNow) {
		t.Error("acknowledged twice")
	}
	a, ev, _ = Resolve(a, at(50), "osei", "seen at home; fine")
	if a.State != rpm.AlertResolved || ev.Kind != rpm.EventResolved || ev.Note == "" {
		t.Errorf("resolve: %+v %+v", a, ev)
	}
	for name, step := range map[string]func() error{
		"retrigger": func() error { _, _, err := Retrigger(a, at(60)); return err },
		"snooze":    func() error { _, _, err := Snooze(a, at(60), at(90), "kim", ""); return err },
		"resolve":   func() error { _, _, err := Resolve(a, at(60), "kim", ""); return err },
		"auto":      func() error { _, _, err := AutoResolve(a, at(60)); return err },
	} {
		if !errors.Is(step(), ErrNotNow) {
			t.Errorf("%s on a resolved alert was allowed", name)
		}
	}
}

func TestSnoozeExpires(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	a, _ := Open(rpm.Alert{Severity: rpm.SeverityLow, Direction: rpm.Above}, at(0))
	a, ev, err := Snooze(a, at(1), at(31), "lee", "known; rechecking in 30 min")
	if err != nil || a.State != rpm.AlertAcknowledged || ev.Kind != rpm.EventSnoozed {
		t.Fatalf("snooze: %+v %v", a, err)
	}
	if a, _, _ = Retrigger(a, at(20)); a.State != rpm.AlertAcknowledged {
		t.Error("a retrigger during the snooze fired again")
	}
	if a, _, _ = Retrigger(a, at(31)); a.State != rpm.AlertFiring || !a.SnoozedUntil.IsZero() {
		t.Errorf("after the snooze the condition still holds: %+v", a)
	}
	if _, _, err := Snooze(a, at(40), at(40), "lee", ""); !errors.Is(err, ErrNotNow) {
		t.Error("a snooze ending now was accepted")
	}
	a, ev, _ = AutoResolve(a, at(45))
	if a.State != rpm.AlertResolved || ev.Kind != rpm.EventAutoResolved || ev.ActorID != "" {
		t.Errorf("auto-resolve: %+v %+v", a, ev)
	}
}

// TestEscalationSkipsEmptyTiers: never into a void — an empty tier is passed over and the alert
// says so; with no one higher it stays, and says that.
func TestEscalationSkipsEmptyTiers(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	a, _ := Open(rpm.Alert{Severity: rpm.SeverityMedium, Direction: rpm.Below}, at(0))
	next, ev, ok := Escalate(a, at(5), 5*time.Minute, []int{1, 3})
	if !ok || next.Tier != 3 || ev.Kind != rpm.EventEscalated || !strings.Contains(ev.Note, "no one at tier 2") {
		t.Errorf("skipping tier 2: %+v %+v", next, ev)
	}
	next, ev, ok = Escalate(a, at(5), 5*time.Minute, []int{1})
	if !ok || next.Tier != 1 || ev.Kind != rpm.EventNote || !strings.Contains(ev.Note, "no one at tiers 2 and 3") {
		t.Errorf("nobody higher: %+v %+v", next, ev)
	}
	if to, skipped := NextTier(1, []int{2}); to != 2 || len(skipped) != 0 {
		t.Errorf("NextTier(1, [2]) = %d %v", to, skipped)
	}
}

// TestLatching: an unacknowledged high alert, or a late one, stays until acknowledged when its
// condition clears, with the recovery shown; the condition's return clears the recovery; others
// resolve.
func TestLatching(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	high, _ := Open(rpm.Alert{Severity: rpm.SeverityHigh, Direction: rpm.Below}, at(0))
	latched, ev, ok := Recover(high, at(5))
	if !ok || latched.State != rpm.AlertFiring || !latched.RecoveredAt.Equal(at(5)) || ev.Kind != rpm.EventRecovered {
		t.Fatalf("high alert on recovery: %+v %+v", latched, ev)
	}
	if _, _, ok := Recover(latched, at(6)); ok {
		t.Error("recovered twice")
	}
	back, ev, _ := Retrigger(latched, at(7))
	if !back.RecoveredAt.IsZero() || ev.Note == "" {
		t.Errorf("the condition came back: %+v %+v", back, ev)
	}
	acked, _, _ := Acknowledge(high, at(1), "kim", "")
	if done, _, _ := Recover(acked, at(5)); done.State != rpm.AlertResolved {
		t.Errorf("an acknowledged high alert resolves on recovery: %+v", done)
	}
	medium, _ := Open(rpm.Alert{Severity: rpm.SeverityMedium, Direction: rpm.Below}, at(0))
	if done, _, _ := Recover(medium, at(5)); done.State != rpm.AlertResolved {
		t.Errorf("a medium alert resolves on recovery: %+v", done)
	}
	medium.Late = true
	if kept, _, _ := Recover(medium, at(5)); kept.State != rpm.AlertFiring {
		t.Errorf("a late alert latches: %+v", kept)
	}
	silent, _ := Open(rpm.Alert{RuleKind: "not_reporting", Severity: rpm.SeverityHigh}, at(0))
	if done, _, _ := Recover(silent, at(5)); done.State != rpm.AlertResolved {
		t.Errorf("a technical alert never latches: %+v", done)
	}
}

// TestEmptyFirstTier: an alert whose tier 1 has no one on it goes to tier 2 at once, saying why,
// without rising in severity.
func TestEmptyFirstTier(t *testing.T) {
	a, _ := Open(rpm.Alert{Severity: rpm.SeverityMedium, Direction: rpm.Below}, t0)
	next, ev, ok := Escalate(a, t0.Add(time.Second), 15*time.Minute, []int{2})
	if !ok || next.Tier != 2 || next.Severity != rpm.SeverityMedium || !strings.Contains(ev.Note, "no one at tier 1: now with tier 2") {
		t.Errorf("%+v %+v %v", next, ev, ok)
	}
	if _, ev, _ := Escalate(a, t0.Add(time.Second), 15*time.Minute, nil); !strings.Contains(ev.Note, "no one at any tier") {
		t.Errorf("nobody at all: %+v", ev)
	}
}
