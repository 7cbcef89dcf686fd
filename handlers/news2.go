package handlers

import (
	"strconv"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
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
