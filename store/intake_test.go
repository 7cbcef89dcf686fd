package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// TestDeviceReportsFromSeveralInstances: flushes of the same devices in different orders, at the
// same time, neither deadlock nor let an older report overwrite a newer one.
func TestDeviceReportsFromSeveralInstances(t *testing.T) {
	ctx := context.Background()
	s, _ := openFresh(t)
	var ids []string
	for i := range 300 {
		id, err := s.ProvisionDevice(ctx, rpm.Device{Serial: fmt.Sprint("R", i), Vendor: "T", Kind: rpm.KindScale}, []byte(fmt.Sprintf("%032d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	reports := func(order []string, at time.Time, battery float64) []rpm.DeviceReport {
		out := make([]rpm.DeviceReport, len(order))
		for i, id := range order {
			b := battery
			out[i] = rpm.DeviceReport{DeviceID: id, At: at, Battery: &b}
		}
		return out
	}
	reversed := slices.Clone(ids)
	slices.Reverse(reversed)
	keep := make([]bool, len(ids))
	var wg sync.WaitGroup
	for round := range 10 {
		wg.Go(func() {
			if err := s.RecordDeviceReports(ctx, reports(ids, now.Add(time.Duration(round)*time.Second), 0.5), keep); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if err := s.RecordDeviceReports(ctx, reports(reversed, now.Add(-time.Hour), 0.9), keep); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	d, err := s.Device(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Battery == nil || *d.Battery != 0.5 || !d.LastSeenAt.Equal(now.Add(9*time.Second)) {
		t.Errorf("device after concurrent flushes: battery %v, last seen %s", d.Battery, d.LastSeenAt)
	}
}
