package store_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// TestSeriesFromRollupsMatchesTheReadings: a chart built from the per-minute roll-ups that intake
// keeps equals one computed from the raw readings, bucket by bucket.
func TestSeriesFromRollupsMatchesTheReadings(t *testing.T) {
	ctx := context.Background()
	_, conn := openFresh(t)
	// A server whose default time zone is not a whole hour from UTC must not shift the hours.
	if _, err := conn.Exec(ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone = %L', current_database(), 'Asia/Kolkata'); END $$`); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, conn.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SeedDemo(ctx, demo.New(), "http://issuer.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	patient := mustPatient(t, s)
	_, hash := auth.NewDeviceToken()
	device, err := s.ProvisionDevice(ctx, rpm.Device{Serial: "SERIES", Vendor: "T", Kind: rpm.KindWearable}, hash)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-6 * time.Hour).Truncate(time.Hour)
	if err := s.AssignDevice(ctx, device, patient, "", start.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var all []rpm.Reading
	for i := range 3000 { // one every 7 s for almost 6 hours, written in several batches
		all = append(all, rpm.Reading{DeviceID: device, DeviceReadingID: "s" + strconv.Itoa(i), Code: rpm.CodeHeartRate, Unit: "/min",
			Value: 60 + rng.Float64()*40, EffectiveAt: start.Add(time.Duration(i) * 7 * time.Second), ReceivedAt: time.Now()})
	}
	for i := 0; i < len(all); i += 700 {
		if _, _, err := s.WriteIntake(ctx, all[i:min(i+700, len(all))], nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, bucket := range []time.Duration{30 * time.Minute, 2 * time.Hour, 20 * time.Second} {
		checkSeries(t, s, patient, all, start, bucket)
	}
}

// checkSeries compares Series against buckets computed here from the readings.
func checkSeries(t *testing.T, s *store.Store, patient string, all []rpm.Reading, start time.Time, bucket time.Duration) {
	t.Helper()
	got, err := s.Series(context.Background(), patient, rpm.CodeHeartRate, start, start.Add(6*time.Hour), bucket)
	if err != nil {
		t.Fatal(err)
	}
	width := int64(bucket / time.Second)
	want := map[int64][3]float64{} // min, max, sum
	count := map[int64]int{}
	for _, r := range all {
		b := r.EffectiveAt.Unix() / width * width
		w, ok := want[b]
		if !ok {
			w = [3]float64{math.Inf(1), math.Inf(-1), 0}
		}
		want[b] = [3]float64{math.Min(w[0], r.Value), math.Max(w[1], r.Value), w[2] + r.Value}
		count[b]++
	}
	if len(got) != len(want) {
		t.Fatalf("%s buckets: %d, want %d", bucket, len(got), len(want))
	}
	for _, p := range got {
		w := want[p.T]
		if math.Abs(p.Min-w[0]) > 1e-9 || math.Abs(p.Max-w[1]) > 1e-9 || math.Abs(p.Avg-w[2]/float64(count[p.T])) > 1e-9 {
			t.Errorf("%s bucket %d: %+v, want min %g max %g avg %g", bucket, p.T, p, w[0], w[1], w[2]/float64(count[p.T]))
		}
	}
}

func mustPatient(t *testing.T, s *store.Store) string {
	t.Helper()
	ids, err := s.DemoPatientIDs(context.Background(), demo.New())
	if err != nil || len(ids) == 0 {
		t.Fatal("no patients", err)
	}
	return ids[0]
}
