package main

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/ingest/devicesim"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// The demo's history: continuous devices measure every demoHistoryStep in its last
// demoHistoryDetailed — where the 24-hour and 7-day charts and the 7-day what-if look — and every
// demoHistoryCoarseStep before, which the 30-day chart's 2-hour buckets need no finer (and a grid
// of which is on the finer one). It is written in demoHistoryStreams transactions at once (one
// per core of the machine the demo is sized for), each of about demoHistoryBatch readings.
const (
	demoHistoryDetailed   = 7 * 24 * time.Hour
	demoHistoryStep       = 5 * time.Minute
	demoHistoryCoarseStep = 10 * time.Minute
	demoHistoryStreams    = 2
	demoHistoryBatch      = 100_000
)

// backfillDemo stores what the simulated devices measured before cfg.Start: demo.History of it or,
// for a device with readings stored already (the demo ran on this database before), what came
// after its latest. patients names each device's patient: a patient's devices go in one stream,
// so streams never wait on each other's roll-up rows. It records each device's state at its last
// measurement and returns how many readings it stored. History raises no alerts (see
// store.BackfillReadings).
func backfillDemo(ctx context.Context, st *store.Store, cfg devicesim.Config, patients []string) (int64, error) {
	from, err := historyFrom(ctx, st, cfg)
	if err != nil {
		return 0, err
	}
	groups := devicesByPatient(patients)
	work := make(chan []int)
	var mu sync.Mutex
	var stored int64
	var reports []rpm.DeviceReport
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(work)
		for _, group := range groups {
			select {
			case work <- group:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range demoHistoryStreams {
		g.Go(func() error {
			n, r, err := backfillStream(gctx, st, cfg, from, work)
			mu.Lock()
			defer mu.Unlock()
			stored, reports = stored+n, append(reports, r...)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return stored, err
	}
	return stored, st.RecordDeviceReports(ctx, reports, make([]bool, len(reports)))
}

// historyFrom is where each device's history begins: demo.History before the start, or just after
// its latest stored reading.
func historyFrom(ctx context.Context, st *store.Store, cfg devicesim.Config) ([]time.Time, error) {
	ids := make([]string, len(cfg.Devices))
	for i, d := range cfg.Devices {
		ids[i] = d.ID
	}
	latest, err := st.LatestReadingTimes(ctx, ids)
	if err != nil {
		return nil, err
	}
	from := make([]time.Time, len(ids))
	for i, id := range ids {
		from[i] = cfg.Start.Add(-demo.History)
		if at, ok := latest[id]; ok && at.After(from[i]) {
			from[i] = at.Add(time.Nanosecond)
		}
	}
	return from, nil
}

// devicesByPatient groups device indexes by patient, in order of first appearance.
func devicesByPatient(patients []string) [][]int {
	var groups [][]int
	index := map[string]int{}
	for i, p := range patients {
		g, ok := index[p]
		if !ok {
			g, index[p] = len(groups), len(groups)
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// backfillStream draws and stores the history of the device groups it takes from work until none
// is left, in transactions of about demoHistoryBatch readings, and returns how many it stored and
// the devices' last states.
func backfillStream(ctx context.Context, st *store.Store, cfg devicesim.Config, from []time.Time, work <-chan []int) (int64, []rpm.DeviceReport, error) {
	var stored int64
	var reports []rpm.DeviceReport
	var batch []rpm.Reading
	flush := func() error {
		n, err := st.BackfillReadings(ctx, batch)
		stored, batch = stored+n, batch[:0]
		return err
	}
	for group := range work {
		for _, i := range group {
			readings, report, err := deviceHistory(cfg, i, from[i])
			if err != nil {
				return stored, reports, err
			}
			batch = append(batch, readings...)
			if report.DeviceID != "" {
				reports = append(reports, report)
			}
		}
		if len(batch) >= demoHistoryBatch {
			if err := flush(); err != nil {
				return stored, reports, err
			}
		}
	}
	if len(batch) == 0 {
		return stored, reports, nil
	}
	return stored, reports, flush()
}

// deviceHistory is device i's history from from: coarse, then detailed over its last part.
func deviceHistory(cfg devicesim.Config, i int, from time.Time) ([]rpm.Reading, rpm.DeviceReport, error) {
	detailed := cfg.Start.Add(-demoHistoryDetailed)
	var readings []rpm.Reading
	var report rpm.DeviceReport
	if from.Before(detailed) {
		var err error
		if readings, report, err = cfg.History(i, from, detailed, demoHistoryCoarseStep); err != nil {
			return nil, report, err
		}
		from = detailed
	}
	recent, last, err := cfg.History(i, from, cfg.Start, demoHistoryStep)
	if last.DeviceID != "" {
		report = last
	}
	if report.DeviceID != "" {
		// What the not-reporting alert and the census count from. A continuous device's story runs
		// on without a gap into the live stream, so it was reporting until the start; a spot-check
		// device last measured at its last scheduled time.
		report.LastReadingAt = report.At
		if len(cfg.Devices[i].Schedule.At) == 0 {
			report.LastReadingAt = cfg.Start
		}
	}
	return append(readings, recent...), report, err
}
