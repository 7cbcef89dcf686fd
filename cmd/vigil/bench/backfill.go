package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vigil-rpm/vigil/rpm"
)

// baselineStreams is how many COPY streams the baseline runs at once (one per core of the
// machine the goals are set for).
const baselineStreams = 2

// baselineChunk is how many rows each COPY (one transaction, one commit) carries.
const baselineChunk = 50_000

// baseline copies readings-shaped rows for the bench's patients and devices straight into the
// readings table — its indexes, constraints and durable commits, nothing of intake — and reports
// rows per second: the limit intake is measured against.
func (b *benchRun) baseline(ctx context.Context, res *Result) error {
	total := b.size.BaselineRows
	meter, err := b.startCPU("baseline COPY", "")
	if err != nil {
		return err
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for s := range baselineStreams {
		g.Go(func() error {
			rows := make([]rpm.Reading, 0, baselineChunk)
			for first := s * baselineChunk; first < total; first += baselineStreams * baselineChunk {
				rows = rows[:0]
				now := time.Now()
				for i := first; i < min(total, first+baselineChunk); i++ {
					d := b.devices[i%len(b.devices)]
					v := vitals[(i/len(b.devices))%readingsPerRequest]
					value, _ := strconv.ParseFloat(v.value, 64)
					rows = append(rows, rpm.Reading{PatientID: d.patient, DeviceID: d.id, DeviceReadingID: "base-" + strconv.Itoa(i),
						Code: v.code, Unit: v.unit, Value: value, EffectiveAt: now.Add(-time.Duration(total-i) * time.Microsecond), ReceivedAt: now})
				}
				if _, err := b.store.CopyReadings(gctx, rows); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	res.CPU = append(res.CPU, meter.stop())
	b.baselineRate = float64(total) / elapsed.Seconds()
	res.add("baseline: raw COPY into readings", "rows/s", b.baselineRate, "")
	return nil
}

// charts backfills one patient's heart rate for 30 days (COPY into readings, then the roll-ups
// rebuilt by one INSERT … SELECT each) and times the 30-day chart's API as a clinician of the
// patient's team sees it.
func (b *benchRun) charts(ctx context.Context, res *Result) error {
	patient := b.patientIDs[b.hospital.chartIndex]
	to := time.Now().Truncate(time.Hour)
	from := to.Add(-30*24*time.Hour - time.Hour)
	step := b.size.ChartInterval
	n := int(to.Sub(from) / step)
	b.opts.progress("backfilling %d readings (30 days, one per %s) and their roll-ups", n, step)
	rows := make([]rpm.Reading, 0, 200_000)
	for i := 0; i < n; i += cap(rows) {
		rows = rows[:0]
		for k := i; k < min(n, i+cap(rows)); k++ {
			at := from.Add(time.Duration(k) * step)
			rows = append(rows, rpm.Reading{PatientID: patient, DeviceID: b.glucometer.id, DeviceReadingID: "chart-" + strconv.Itoa(k),
				Code: rpm.CodeHeartRate, Unit: "/min", Value: 70 + 10*math.Sin(float64(k)/600), EffectiveAt: at, ReceivedAt: at})
		}
		if _, err := b.store.CopyReadings(ctx, rows); err != nil {
			return err
		}
	}
	if err := b.store.RecomputeRollups(ctx, patient, rpm.CodeHeartRate, from, to); err != nil {
		return err
	}
	clinician := b.clinicians[b.hospital.teams[0].clinicians[0]]
	path := "/api/v1/patients/" + patient + "/series?code=" + rpm.CodeHeartRate + "&range=30d"
	var lat []int64
	for range b.size.Charts {
		start := time.Now()
		_, body, err := clinician.get(ctx, path)
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(start).Microseconds())
		var s struct{ Points []json.RawMessage }
		if err := json.Unmarshal([]byte(body), &s); err != nil || len(s.Points) < 300 {
			return fmt.Errorf("the 30-day chart has %d points, want about 360", len(s.Points))
		}
	}
	p := percentiles(lat)
	res.add("30-day chart p50", "ms", p.p50, "≤ 50")
	res.add("30-day chart p99", "ms", p.p99, "")
	res.Notes = append(res.Notes, fmt.Sprintf("charts: %d readings backfilled over 30 days; each request is the whole API (session, access check, audit, query, JSON)", n))
	return nil
}
