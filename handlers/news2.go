package handlers

import (
	"context"
	"strconv"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/live"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// news2Of scores a patient's latest readings at now.
func news2Of(latest []rpm.Reading, now time.Time) alerts.NEWS2 {
	byCode := make(map[string]rpm.Reading, len(latest))
	for _, r := range latest {
		byCode[r.Code] = r
	}
	return alerts.ComputeNEWS2(alerts.NEWS2Input{Latest: byCode}, now, news2Freshness)
}

// news2View is a score as the patient view shows it.
func news2View(latest []rpm.Reading, now time.Time) views.NEWS2View {
	n := news2Of(latest, now)
	v := views.NEWS2View{Score: n.Score, Band: string(n.Band), Partial: n.Partial}
	for _, p := range n.Parameters {
		prm := views.NEWS2Parameter{Name: p.Name, Points: p.Points}
		if m, ok := rpm.MetricByCode(p.Code); ok && !p.Missing {
			prm.Value = strconv.FormatFloat(p.Value, 'f', m.Decimals, 64) + " " + m.UnitLabel
		}
		switch {
		case p.Missing && p.Code == "":
			prm.Note = "not recorded"
		case p.Missing:
			prm.Note = "no reading"
		case p.Stale:
			prm.Note = "older than an hour: not counted"
		}
		v.Parameters = append(v.Parameters, prm)
	}
	return v
}

// NEWS2Frames computes the current NEWS2 of patients whose readings just changed, as live frames
// (the live relay's follow-up). Patients the caller passes are already watched by authorised
// dashboards; the frames go only to those subscriptions.
func (h *Handlers) NEWS2Frames(ctx context.Context, patientIDs []string) []live.Frame {
	latest, err := h.store.LatestByPatient(ctx, patientIDs, store.CensusCodes)
	if err != nil {
		h.log.Warn("computing NEWS2 for live dashboards failed", "err", err)
		return nil
	}
	now := h.now()
	frames := make([]live.Frame, 0, len(patientIDs))
	for _, id := range patientIDs {
		n := alerts.ComputeNEWS2(alerts.NEWS2Input{Latest: latest[id]}, now, news2Freshness)
		frames = append(frames, live.Frame{Type: "news2", Patient: id, NEWS2: &live.ScoreFrame{Score: n.Score, Band: string(n.Band), Partial: n.Partial}})
	}
	return frames
}
