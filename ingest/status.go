package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// Device status is written in the background, for many devices at once, never once per request.
const (
	statusFlushInterval = 5 * time.Second
	// historyEvery is how often a device's status is appended to its history (sooner when its
	// firmware changes).
	historyEvery = 15 * time.Minute
)

// statusBook keeps the latest status each device reported until the next flush.
type statusBook struct {
	store *store.Store
	log   *slog.Logger

	mu      sync.Mutex
	latest  map[string]rpm.DeviceReport
	history map[string]rpm.DeviceReport // the last report appended to each device's history
	metrics map[store.DeviceMetric]time.Time
	flushed map[store.DeviceMetric]time.Time // when each metric was last written (Vigil's clock)
}

// metricsEvery is how often a device metric that keeps arriving is written: the no-data timer
// needs minutes, not seconds, and a device that stops has its last time written within this.
const metricsEvery = time.Minute

func newStatusBook(st *store.Store, log *slog.Logger) *statusBook {
	return &statusBook{store: st, log: log, latest: map[string]rpm.DeviceReport{}, history: map[string]rpm.DeviceReport{},
		metrics: map[store.DeviceMetric]time.Time{}, flushed: map[store.DeviceMetric]time.Time{}}
}

// noteReadings remembers when Vigil last received each device's readings of each code, by its own
// clock (a device's clock may be wrong), for the no-data timer.
func (b *statusBook) noteReadings(readings []rpm.Reading) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range readings {
		k := store.DeviceMetric{DeviceID: r.DeviceID, Code: r.Code}
		if r.ReceivedAt.After(b.metrics[k]) {
			b.metrics[k] = r.ReceivedAt
		}
	}
}

// note remembers a device's report, field by field: a later report's time wins, and each of
// battery, firmware and signal keeps its last reported value when a later report leaves it out.
func (b *statusBook) note(r rpm.DeviceReport) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.latest[r.DeviceID] = merge(b.latest[r.DeviceID], r)
}

// merge combines two reports of one device; the newer one's fields win where it has them.
func merge(a, b rpm.DeviceReport) rpm.DeviceReport {
	if b.At.Before(a.At) {
		a, b = b, a
	}
	if b.Battery == nil {
		b.Battery = a.Battery
	}
	if b.Firmware == "" {
		b.Firmware = a.Firmware
	}
	if b.SignalDBM == nil {
		b.SignalDBM = a.SignalDBM
	}
	if b.ClockAhead == nil {
		b.ClockAhead = a.ClockAhead
	}
	if a.LastReadingAt.After(b.LastReadingAt) {
		b.LastReadingAt = a.LastReadingAt
	}
	return b
}

// reported says whether a report carries any status beyond the time it was seen.
func reported(r rpm.DeviceReport) bool {
	return r.Battery != nil || r.Firmware != "" || r.SignalDBM != nil
}

// run flushes periodically until ctx ends, then once more.
func (b *statusBook) run(ctx context.Context) {
	t := time.NewTicker(statusFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.flush(ctx)
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
			b.flushMetrics(final, true) // all of them: the next instance's timers read them
			b.flush(final)
			cancel()
			return
		}
	}
}

// flush writes the reports gathered since the last flush in one statement. On failure they are
// kept (unless newer ones arrived) for the next try.
func (b *statusBook) flush(ctx context.Context) {
	b.flushMetrics(ctx, false)
	b.mu.Lock()
	pending := b.latest
	b.latest = make(map[string]rpm.DeviceReport, len(pending))
	reports := make([]rpm.DeviceReport, 0, len(pending))
	keep := make([]bool, 0, len(pending))
	for id, r := range pending {
		last, ok := b.history[id]
		reports = append(reports, r)
		keep = append(keep, reported(r) && (!ok || r.At.Sub(last.At) >= historyEvery || r.Firmware != "" && r.Firmware != last.Firmware))
	}
	b.mu.Unlock()
	if len(reports) == 0 {
		return
	}
	if err := b.store.RecordDeviceReports(ctx, reports, keep); err != nil {
		b.log.Warn("recording device status failed; will retry", slog.Int("devices", len(reports)), slog.Any("err", err))
		for _, r := range reports {
			b.note(r)
		}
		return
	}
	b.mu.Lock()
	for i, r := range reports {
		if keep[i] {
			b.history[r.DeviceID] = r
		}
	}
	b.mu.Unlock()
}

// flushMetrics writes the devices' latest reading times: all of them, or each at most once a
// metricsEvery (a new one at once), the rest kept for a later flush; on failure they are kept for
// the next try.
func (b *statusBook) flushMetrics(ctx context.Context, all bool) {
	now := time.Now()
	b.mu.Lock()
	due := make(map[store.DeviceMetric]time.Time)
	for k, at := range b.metrics {
		if last, ok := b.flushed[k]; all || !ok || now.Sub(last) >= metricsEvery {
			due[k] = at
			delete(b.metrics, k)
		}
	}
	b.mu.Unlock()
	if len(due) == 0 {
		return
	}
	if err := b.store.RecordDeviceMetrics(ctx, due); err != nil {
		b.log.Warn("recording devices' latest readings failed; will retry", slog.Int("metrics", len(due)), slog.Any("err", err))
		b.mu.Lock()
		for k, at := range due {
			if at.After(b.metrics[k]) {
				b.metrics[k] = at
			}
		}
		b.mu.Unlock()
		return
	}
	b.mu.Lock()
	for k := range due {
		b.flushed[k] = now
	}
	b.mu.Unlock()
}
