package ingest

import (
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

func TestStatusReportsMergeFieldByField(t *testing.T) {
	b := &statusBook{latest: map[string]rpm.DeviceReport{}}
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	battery, signal := 0.31, -60
	b.note(rpm.DeviceReport{DeviceID: "d", At: t0, Battery: &battery, Firmware: "9.9.9", SignalDBM: &signal})
	b.note(rpm.DeviceReport{DeviceID: "d", At: t0.Add(time.Second)}) // readings only, no status
	got := b.latest["d"]
	if got.Battery == nil || *got.Battery != 0.31 || got.Firmware != "9.9.9" || got.SignalDBM == nil || !got.At.Equal(t0.Add(time.Second)) {
		t.Errorf("merged report = %+v", got)
	}
	newer := 0.30
	b.note(rpm.DeviceReport{DeviceID: "d", At: t0.Add(-time.Minute), Battery: &newer}) // late, older report
	if got := b.latest["d"]; *got.Battery != 0.31 || !got.At.Equal(t0.Add(time.Second)) {
		t.Errorf("an older report overrode a newer one: %+v", got)
	}
	if reported(rpm.DeviceReport{DeviceID: "d", At: t0}) {
		t.Error("a report with no status counts as reported")
	}
}
