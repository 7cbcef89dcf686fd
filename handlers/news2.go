package handlers

import (
	"strconv"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/views"
)

// The handlers never score NEWS2 themselves: h.alerts.NEWS2 does, with the engine's freshness
// policy, so every screen shows the score the alerts are raised on.

// news2Badge is a score as a list shows it.
func news2Badge(n alerts.NEWS2) views.NEWS2View {
	return views.NEWS2View{Score: n.Score, Band: string(n.Band), Partial: n.Partial, Incomplete: n.Incomplete, NoData: n.NoData,
		Missing: n.Missing()}
}

// news2View is a score as the patient view shows it, parameter by parameter, with who recorded the
// clinicians' inputs and why a parameter did not count.
func (h *Handlers) news2View(in *store.NEWS2Inputs, now time.Time) views.NEWS2View {
	n := h.alerts.NEWS2(in, now)
	v := news2Badge(n)
	v.Scale2 = in != nil && in.Scale2
	fresh := h.alerts.Freshness()
	for _, p := range n.Parameters {
		prm := views.NEWS2Parameter{Name: p.Name, Points: p.Points}
		if m, ok := rpm.MetricByCode(p.Code); ok && !p.Missing {
			prm.Value = strconv.FormatFloat(p.Value, 'f', m.Decimals, 64) + " " + m.UnitLabel
		}
		switch {
		case p.Recorded != nil:
			prm.Value = assessmentWords[p.Recorded.Value]
			prm.RecordedAt, prm.RecordedBy = p.Recorded.RecordedAt, in.Recorders[p.Recorded.RecordedBy]
			if p.Recorded.Standing {
				prm.Note = "the patient's usual state (care plan)"
			}
			if p.Stale {
				prm.Note = "older than " + shortDuration(fresh.Assessment) + ": not counted"
			}
		case p.Code == "":
			prm.Note = "not recorded"
		case p.Missing:
			prm.Note = "no reading"
		case p.Stale:
			prm.Note = "older than " + shortDuration(fresh.For(p.Code)) + ": not counted"
		}
		v.Parameters = append(v.Parameters, prm)
	}
	return v
}

// assessmentWords says a recorded value in a clinician's words.
var assessmentWords = map[string]string{
	rpm.OnAir: "air", rpm.OnOxygen: "supplemental oxygen",
	rpm.ConsciousAlert: "alert", rpm.ConsciousCVPU: "new confusion, voice, pain or unresponsive",
}

// shortDuration says 1h rather than 1h0m0s.
func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return d.String()
}
