package ingest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store/storetest"
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

// TestDeviceMetricsAreWrittenSparingly: a metric that keeps arriving is written at once the first
// time, then at most once a minute; at shutdown, everything.
func TestDeviceMetricsAreWrittenSparingly(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	_, hash := auth.NewDeviceToken()
	id, err := st.ProvisionDevice(ctx, rpm.Device{Serial: "M-1", Vendor: "T", Kind: rpm.KindPulseOximeter}, hash)
	if err != nil {
		t.Fatal(err)
	}
	b := newStatusBook(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t0 := time.Now().UTC().Truncate(time.Second)
	lastAt := func() time.Time {
		t.Helper()
		at, err := st.DeviceMetricLastAt(ctx, id, rpm.CodeSpO2)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	b.noteReadings([]rpm.Reading{{DeviceID: id, Code: rpm.CodeSpO2, ReceivedAt: t0}})
	b.flushMetrics(ctx, false)
	if got := lastAt(); !got.Equal(t0) {
		t.Fatalf("first flush wrote %s, want %s", got, t0)
	}
	b.noteReadings([]rpm.Reading{{DeviceID: id, Code: rpm.CodeSpO2, ReceivedAt: t0.Add(5 * time.Second)}})
	b.flushMetrics(ctx, false)
	if got := lastAt(); !got.Equal(t0) {
		t.Errorf("a second flush within a minute wrote %s", got)
	}
	b.flushMetrics(ctx, true)
	if got := lastAt(); !got.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("the final flush wrote %s, want %s", got, t0.Add(5*time.Second))
	}
}
