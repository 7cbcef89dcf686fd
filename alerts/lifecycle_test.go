package alerts

import (
	"errors"
	"testing"
	"time"
)

func TestAlertLifecycle(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	a, ev := Open(at(0), Medium, Below)
	if a.State != Firing || a.Tier != 1 || ev.Kind != EventFired {
		t.Fatalf("open: %+v %+v", a, ev)
	}
	// Not acknowledged within 15 minutes: escalates to tier 2 and becomes more urgent.
	if _, _, ok := a.Escalate(at(14), 15*time.Minute, 3); ok {
		t.Error("escalated before the window")
	}
	a, ev, ok := a.Escalate(at(15), 15*time.Minute, 3)
	if !ok || a.Tier != 2 || a.Severity != High || ev.Kind != EventEscalated {
		t.Fatalf("escalation: %+v %+v %v", a, ev, ok)
	}
	// The next escalation needs a whole new window.
	if _, _, ok := a.Escalate(at(29), 15*time.Minute, 3); ok {
		t.Error("escalated again too soon")
	}
	a, _, _ = a.Escalate(at(30), 15*time.Minute, 3)
	if _, _, ok := a.Escalate(at(60), 15*time.Minute, 3); ok || a.Tier != 3 {
		t.Errorf("escalated past the last tier: %+v", a)
	}
	// Acknowledged: no more escalation; a repeat of the condition keeps it acknowledged.
	a, ev, err := a.Acknowledge(at(31), "kim", "calling the patient")
	if err != nil || a.State != Acknowledged || ev.Actor != "kim" {
		t.Fatalf("acknowledge: %+v %v", a, err)
	}
	if _, _, ok := a.Escalate(at(90), 15*time.Minute, 5); ok {
		t.Error("an acknowledged alert escalated")
	}
	a, _, _ = a.Retrigger(at(40))
	if a.State != Acknowledged || !a.LastTriggeredAt.Equal(at(40)) {
		t.Errorf("retrigger of an acknowledged alert: %+v", a)
	}
	if _, _, err := a.Acknowledge(at(41), "kim", ""); !errors.Is(err, ErrNotNow) {
		t.Error("acknowledged twice")
	}
	a, ev, _ = a.Resolve(at(50), "osei", "seen at home; fine")
	if a.State != Resolved || ev.Kind != EventResolved || ev.Note == "" {
		t.Errorf("resolve: %+v %+v", a, ev)
	}
	for name, step := range map[string]func() error{
		"retrigger": func() error { _, _, err := a.Retrigger(at(60)); return err },
		"snooze":    func() error { _, _, err := a.Snooze(at(60), at(90), "kim", ""); return err },
		"resolve":   func() error { _, _, err := a.Resolve(at(60), "kim", ""); return err },
		"auto":      func() error { _, _, err := a.AutoResolve(at(60)); return err },
	} {
		if !errors.Is(step(), ErrNotNow) {
			t.Errorf("%s on a resolved alert was allowed", name)
		}
	}
}

func TestSnoozeExpires(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	a, _ := Open(at(0), Low, Above)
	a, ev, err := a.Snooze(at(1), at(31), "lee", "known; rechecking in 30 min")
	if err != nil || a.State != Acknowledged || ev.Kind != EventSnoozed {
		t.Fatalf("snooze: %+v %v", a, err)
	}
	if a, _, _ = a.Retrigger(at(20)); a.State != Acknowledged {
		t.Error("a retrigger during the snooze fired again")
	}
	if a, _, _ = a.Retrigger(at(31)); a.State != Firing || !a.SnoozedUntil.IsZero() {
		t.Errorf("after the snooze the condition still holds: %+v", a)
	}
	if _, _, err := a.Snooze(at(40), at(40), "lee", ""); !errors.Is(err, ErrNotNow) {
		t.Error("a snooze ending now was accepted")
	}
	a, ev, _ = a.AutoResolve(at(45))
	if a.State != Resolved || ev.Kind != EventAutoResolved || ev.Actor != "" {
		t.Errorf("auto-resolve: %+v %+v", a, ev)
	}
}
