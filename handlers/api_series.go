package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// chartRanges are the ranges a chart offers, each with the bucket its points are averaged into
// (about 360 points per chart, however long the range).
var chartRanges = map[string]struct{ span, bucket time.Duration }{
	"1h":  {time.Hour, 10 * time.Second},
	"24h": {24 * time.Hour, 4 * time.Minute},
	"7d":  {7 * 24 * time.Hour, 30 * time.Minute},
	"30d": {30 * 24 * time.Hour, 2 * time.Hour},
}

// seriesJSON is a downsampled series for a chart.
type seriesJSON struct {
	Code          string              `json:"code"`
	Unit          string              `json:"unit"`
	Range         string              `json:"range"`
	BucketSeconds int64               `json:"bucket_seconds"`
	Points        []store.SeriesPoint `json:"points"`
}

// APISeries returns one metric of a patient over a range (1h, 24h, 7d, 30d), downsampled in the
// database into min, max and mean per bucket, for the patient view's charts.
func (h *Handlers) APISeries(c echo.Context) error {
	id := c.Param("patient")
	if _, err := h.authorize(c, id, rpm.ActionReadingsView, rpm.AccessShared); err != nil {
		return err
	}
	code := c.QueryParam("code")
	unit, ok := rpm.CanonicalUnit(code)
	if !ok {
		return rpm.Errorf(rpm.EInvalid, "code must be one of the LOINC codes Vigil accepts.")
	}
	name := c.QueryParam("range")
	r, ok := chartRanges[name]
	if !ok {
		return rpm.Errorf(rpm.EInvalid, "range must be 1h, 24h, 7d or 30d.")
	}
	now := h.now()
	points, err := h.store.Series(c.Request().Context(), id, code, now.Add(-r.span), now.Add(time.Minute), r.bucket)
	if err != nil {
		return err
	}
	if err := h.audit(c, rpm.ActionReadingsView, id, "series", code); err != nil {
		return err
	}
	if points == nil {
		points = []store.SeriesPoint{}
	}
	return c.JSON(http.StatusOK, seriesJSON{Code: code, Unit: unit, Range: name, BucketSeconds: int64(r.bucket / time.Second), Points: points})
}
