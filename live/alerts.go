package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/vigil-rpm/vigil/store"
)

// runAlerts pushes every committed alert change, from any instance, to the dashboards here that
// watch the alert's patient. Changes are announced on store.AlertsChannel by the transaction that
// makes them, so an alert is never shown before it is stored; after the listener reconnects, the
// alerts changed meanwhile are read back.
func (r *Relay) runAlerts(ctx context.Context) {
	var lastHeard time.Time
	connected := false
	_ = r.store.Listen(ctx, store.AlertsChannel, func(payload string) {
		var n store.AlertNotice
		_ = json.Unmarshal([]byte(payload), &n)
		lastHeard = time.Now()
		if len(n.Alerts) == 0 {
			r.alertsSince(ctx, lastHeard.Add(-catchUpMargin))
			return
		}
		if !r.anyWatched(n.Patients) {
			return
		}
		list, err := r.store.AlertsByID(ctx, n.Alerts)
		if err != nil {
			r.log.Warn("reading back changed alerts failed", slog.Any("err", err))
			return
		}
		for _, a := range list {
			r.hub.Publish(Frame{Type: "alert", Patient: a.PatientID, Alert: AlertFrameOf(a)})
		}
	}, func() {
		if connected && !lastHeard.IsZero() {
			r.alertsSince(ctx, lastHeard.Add(-catchUpMargin))
		}
		connected = true
		lastHeard = time.Now()
	})
}

// alertsSince publishes the alerts changed since an instant (frames may repeat; dashboards
// replace an alert by id).
func (r *Relay) alertsSince(ctx context.Context, since time.Time) {
	list, err := r.store.AlertsChangedSince(ctx, since)
	if err != nil {
		r.log.Warn("catching up on changed alerts failed", slog.Any("err", err))
		return
	}
	for _, a := range list {
		r.hub.Publish(Frame{Type: "alert", Patient: a.PatientID, Alert: AlertFrameOf(a)})
	}
}

// anyWatched reports whether a dashboard here watches one of the patients (all of them when the
// notice names none).
func (r *Relay) anyWatched(patients []string) bool {
	if len(patients) == 0 {
		return true
	}
	for _, p := range patients {
		if r.hub.Subscribers(p) > 0 {
			return true
		}
	}
	return false
}
