package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// BenchmarkAccept measures the intake path below HTTP — decode, validate, group commit on a real
// PostgreSQL — with many devices posting 5-reading batches concurrently. `vigil bench` measures
// the whole path, HTTP included, against the raw COPY limit of the same machine.
// With alerts, the hospital's default rules are evaluated in each commit (normal values: no
// alert fires, as for most patients most of the time).
func BenchmarkAccept(b *testing.B) {
	b.Run("alerts=off", func(b *testing.B) { benchmarkAccept(b, false) })
	b.Run("alerts=on", func(b *testing.B) { benchmarkAccept(b, true) })
}

func benchmarkAccept(b *testing.B, withAlerts bool) {
	ctx := context.Background()
	st := storetest.New(b)
	if err := st.SeedDemo(ctx, demo.New(), "http://issuer.test", time.Now()); err != nil {
		b.Fatal(err)
	}
	clinicians, _ := st.Users(ctx, rpm.RoleClinician)
	patients, _ := st.VisiblePatients(ctx, clinicians[0].ID, time.Now())
	const devices = 200
	ids := make([]string, devices)
	for i := range ids {
		_, hash := auth.NewDeviceToken()
		id, err := st.ProvisionDevice(ctx, rpm.Device{Serial: fmt.Sprintf("B-%d", i), Vendor: "Bench", Kind: rpm.KindBedsideMonitor}, hash)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.AssignDevice(ctx, id, patients[i%len(patients)].ID, "", time.Now().Add(-time.Hour)); err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	opts := Options{RatePerSecond: 1e9, Burst: 1 << 30, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if withAlerts {
		opts.Evaluator = watch.New(st, watch.Options{Log: opts.Log})
	}
	s := New(st, opts)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	var seq atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			device := ids[n%devices]
			at := time.Now().UTC().Format(time.RFC3339Nano)
			var readings []map[string]any
			for k, code := range []string{"8867-4", "9279-1", "59408-5", "8480-6", "8462-4"} {
				readings = append(readings, map[string]any{"id": fmt.Sprintf("%d-%d", n, k), "code": code, "value": normal[code], "unit": unitOf(code), "at": at})
			}
			body, _ := json.Marshal(map[string]any{"readings": readings})
			if res, err := s.Accept(ctx, device, body); err != nil || res.Accepted != 5 {
				b.Fatalf("accept: %+v %v", res, err)
			}
		}
	})
	b.ReportMetric(float64(b.N*5)/time.Since(start).Seconds(), "readings/s")
}

// normal are unremarkable values of the benchmark's codes.
var normal = map[string]float64{"8867-4": 76, "9279-1": 15, "59408-5": 97, "8480-6": 122, "8462-4": 78}

func unitOf(code string) string {
	u, _ := rpm.CanonicalUnit(code)
	return u
}
