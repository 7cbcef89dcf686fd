package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
)

// TestBackfillReadings: a backfill stores each reading for the patient its device was on at the
// reading's time and leaves out those of no assignment; backfilling again stores nothing twice;
// and the roll-ups, also of minutes intake had written to, equal the readings' own aggregates.
func TestBackfillReadings(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)
	if err := s.SeedDemo(ctx, demo.New(), "http://issuer.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	patients, err := s.DemoPatientIDs(ctx, demo.New())
	if err != nil || len(patients) < 2 {
		t.Fatal("demo patients", err)
	}
	_, hash := auth.NewDeviceToken()
	device, err := s.ProvisionDevice(ctx, rpm.Device{Serial: "BACKFILL", Vendor: "T", Kind: rpm.KindPulseOximeter}, hash)
	if err != nil {
		t.Fatal(err)
	}
	// On the first patient for two days, then on the second until now.
	now := time.Now().Truncate(time.Minute)
	from, moved := now.Add(-4*24*time.Hour), now.Add(-2*24*time.Hour)
	if err := s.AssignDevice(ctx, device, patients[0], "", from); err != nil {
		t.Fatal(err)
	}
	if err := s.EndAssignment(ctx, device, patients[0], "", moved); err != nil {
		t.Fatal(err)
	}
	if err := s.AssignDevice(ctx, device, patients[1], "", moved); err != nil {
		t.Fatal(err)
	}
	// A live reading, through intake, in a minute the backfill also fills.
	live := rpm.Reading{DeviceID: device, DeviceReadingID: "live-1", Code: rpm.CodeSpO2, Unit: "%", Value: 91,
		EffectiveAt: now.Add(-time.Hour + 20*time.Second), ReceivedAt: now}
	if _, _, err := s.WriteIntake(ctx, []rpm.Reading{live}, nil, nil); err != nil {
		t.Fatal(err)
	}

	history := backfillHistory(device, from.Add(-6*time.Hour), now, 5*time.Minute) // six hours before any assignment
	n, err := s.BackfillReadings(ctx, history[:len(history)/2])
	if err != nil {
		t.Fatal(err)
	}
	unassigned := int64(2 * 6 * 12) // two codes, six hours, every 5 minutes
	if want := int64(len(history)/2) - unassigned; n != want {
		t.Errorf("backfilled %d readings, want %d", n, want)
	}
	n, err = s.BackfillReadings(ctx, history) // again, and the rest
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(history) - len(history)/2); n != want {
		t.Errorf("the second backfill stored %d readings, want only the %d new ones", n, want)
	}

	var total, onFirst, onSecond int64
	if err := conn.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE patient_id = $2 AND effective_at < $4),
		       count(*) FILTER (WHERE patient_id = $3 AND effective_at >= $4)
		FROM readings WHERE device_id = $1`, device, patients[0], patients[1], moved).Scan(&total, &onFirst, &onSecond); err != nil {
		t.Fatal(err)
	}
	if want := int64(len(history)) - unassigned + 1; total != want || onFirst+onSecond != total {
		t.Errorf("%d readings stored (%d on the first patient, %d on the second), want %d, each on the patient of its time",
			total, onFirst, onSecond, want)
	}
	checkRollups(t, conn)
}

// backfillHistory is a device's SpO₂ and pulse every step from from until to, with ids made from
// the code and the time.
func backfillHistory(device string, from, to time.Time, step time.Duration) []rpm.Reading {
	var out []rpm.Reading
	for at, i := from, 0; at.Before(to); at, i = at.Add(step), i+1 {
		for _, m := range []struct {
			code, unit string
			value      float64
		}{{rpm.CodeSpO2, "%", float64(93 + i%6)}, {rpm.CodeHeartRate, "/min", 60 + float64(i%37) + 0.1}} {
			out = append(out, rpm.Reading{DeviceID: device, DeviceReadingID: fmt.Sprintf("bf-%s-%d", m.code, at.Unix()),
				Code: m.code, Unit: m.unit, Value: m.value, EffectiveAt: at, ReceivedAt: at})
		}
	}
	return out
}

// checkRollups fails the test unless every per-minute and hourly roll-up equals the aggregate of
// the readings it covers, and every reading is covered.
func checkRollups(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	for _, c := range []struct{ table, bucket string }{{"reading_rollups", "minute"}, {"reading_rollups_hourly", "hour"}} {
		var wrong, rows int
		err := conn.QueryRow(context.Background(), fmt.Sprintf(`
			WITH agg AS (
				SELECT patient_id, code, date_trunc('%[2]s', effective_at) AS bucket, count(*) AS n, sum(value) AS sum,
				       min(value) AS min, max(value) AS max
				FROM readings GROUP BY 1, 2, 3)
			SELECT count(*) FILTER (WHERE a.n IS NULL OR r.n IS NULL OR a.n <> r.n OR abs(a.sum - r.sum) > 1e-6
			                         OR a.min <> r.min OR a.max <> r.max),
			       count(*)
			FROM agg a FULL JOIN %[1]s r ON r.patient_id = a.patient_id AND r.code = a.code AND r.%[2]s = a.bucket`,
			c.table, c.bucket)).Scan(&wrong, &rows)
		if err != nil {
			t.Fatal(err)
		}
		if wrong != 0 || rows == 0 {
			t.Errorf("%s: %d of %d rows differ from the readings' aggregates", c.table, wrong, rows)
		}
	}
}
