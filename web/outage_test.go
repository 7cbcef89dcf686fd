package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/ingest"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/pgcluster"
)

// TestIntakeThroughADatabaseOutage: while PostgreSQL is down intake answers 503 and writes
// nothing half; when it is back, intake recovers by itself — same process, no restart.
func TestIntakeThroughADatabaseOutage(t *testing.T) {
	ctx := context.Background()
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{})
	if errors.Is(err, pgcluster.ErrNoBinaries) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	url := cluster.URL("postgres")
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	f := newIntakeFixtureAt(t, url, ingest.Options{RatePerSecond: 10000, Burst: 10000})

	var ok, unavailable, other, acceptedReadings atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := readingsBody(
					wire{"id": fmt.Sprintf("o-%d-%d-a", w, i), "code": "8867-4", "value": 70, "unit": "/min", "at": at(-time.Second)},
					wire{"id": fmt.Sprintf("o-%d-%d-b", w, i), "code": "59408-5", "value": 97, "unit": "%", "at": at(-time.Second)})
				switch a := f.post(t, f.token, body); a.status {
				case http.StatusOK:
					ok.Add(1)
					acceptedReadings.Add(int64(a.result.Accepted))
				case http.StatusServiceUnavailable:
					unavailable.Add(1)
					time.Sleep(20 * time.Millisecond)
				default:
					other.Add(1)
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if err := cluster.Pause(); err != nil {
		t.Fatal(err)
	}
	beforeOutage := ok.Load()
	time.Sleep(700 * time.Millisecond)
	during := unavailable.Load()
	if err := cluster.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	resumedAt := ok.Load()
	deadline := time.Now().Add(15 * time.Second)
	for ok.Load() < resumedAt+20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	if beforeOutage == 0 || during == 0 {
		t.Fatalf("the stream did not see the outage: %d ok before, %d answered 503", beforeOutage, during)
	}
	if ok.Load() < resumedAt+20 {
		t.Errorf("intake did not recover after the database came back: %d ok before, %d after", resumedAt, ok.Load())
	}
	if other.Load() != 0 {
		t.Errorf("%d answers were neither 200 nor 503", other.Load())
	}
	// Nothing half-written: every stored reading was in a request answered 200 — no 503'd request
	// left a reading behind (ids are unique per request, and each request carried two).
	var stored, halves int64
	row := queryRow(t, f, `SELECT count(*), count(*) FILTER (WHERE n = 1) FROM
		(SELECT count(*) AS n FROM readings GROUP BY left(device_reading_id, length(device_reading_id) - 2)) x`)
	if err := row.Scan(&stored, &halves); err != nil {
		t.Fatal(err)
	}
	if halves != 0 {
		t.Errorf("%d requests were stored by halves", halves)
	}
	var readings int64
	if err := queryRow(t, f, `SELECT count(*) FROM readings`).Scan(&readings); err != nil {
		t.Fatal(err)
	}
	if readings < acceptedReadings.Load() {
		t.Errorf("%d readings stored, but %d were acknowledged", readings, acceptedReadings.Load())
	}
}
