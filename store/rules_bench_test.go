package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
)

// BenchmarkWhatIfWeekAt1Hz measures the what-if of the thresholds page on its worst case: a week
// of one measure at 1 Hz (604,800 readings) streamed in time order through two rules.
//
//	go test -run=^$ -bench=BenchmarkWhatIfWeekAt1Hz -benchtime=3x ./store
func BenchmarkWhatIfWeekAt1Hz(b *testing.B) {
	ctx := context.Background()
	s, conn := openFresh(b)
	patient := demoWithPatient(b, s)
	start := time.Now().Add(-7 * 24 * time.Hour).Truncate(time.Second)
	device := spo2Device(b, s, patient, start.Add(-time.Hour))
	if _, err := conn.Exec(ctx, `
		INSERT INTO readings (patient_id, device_id, device_reading_id, code, value, unit, effective_at, received_at)
		SELECT $1, $2, 'b' || i, '59408-5', round((91 + 5 * sin(i / 600.0))::numeric, 1), '%', $3::timestamptz + i * interval '1 second', now()
		FROM generate_series(0, 604799) AS i`, patient, device, start); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE readings`); err != nil {
		b.Fatal(err)
	}
	inForce, _, _ := s.RulesFor(ctx, patient)
	current, _ := alerts.ParseRule(hospitalRule(b, inForce, rpm.CodeSpO2, rpm.Below))
	proposed := current
	proposed.Limit, proposed.Clear = 88, 90
	b.ResetTimer()
	for b.Loop() {
		cur, prop := current.Replayer(), proposed.Replayer()
		n := 0
		err := s.EachReading(ctx, patient, rpm.CodeSpO2, start, time.Now(), func(r rpm.Reading) error {
			n++
			cur.Add(r)
			prop.Add(r)
			return nil
		})
		if err != nil || n != 604800 {
			b.Fatalf("%d readings, %v", n, err)
		}
		b.ReportMetric(float64(cur.Fired()), "current-alerts")
		b.ReportMetric(float64(prop.Fired()), "proposed-alerts")
	}
}
