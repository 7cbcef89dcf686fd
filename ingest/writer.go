package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// commitTimeout bounds one batch's transaction; a database that takes longer is treated as down.
const commitTimeout = 10 * time.Second

// job is one request's share of a batch: its valid readings, its rejections, and where to send
// the outcome once the batch has committed (or failed).
type job struct {
	readings []rpm.Reading
	rejected []store.RejectedReading
	done     chan jobResult
}

type jobResult struct {
	outcomes []store.IntakeOutcome
	err      error
}

// writer gathers the readings of concurrent requests into batches and commits each batch in one
// transaction, so requests share commits (group commit) while every request still hears back only
// after its own readings are durable.
type writer struct {
	store     *store.Store
	jobs      chan *job
	maxBatch  int
	consumers []Consumer
	log       *slog.Logger
}

// run commits batches until ctx ends, then drains what is queued.
func (w *writer) run(ctx context.Context) {
	for {
		select {
		case first := <-w.jobs:
			w.commit(w.gather(first))
		case <-ctx.Done():
			w.drain()
			return
		}
	}
}

// gather takes the first job and whatever else is already waiting, up to maxBatch readings.
func (w *writer) gather(first *job) []*job {
	batch, n := []*job{first}, len(first.readings)
	for n < w.maxBatch {
		select {
		case j := <-w.jobs:
			batch, n = append(batch, j), n+len(j.readings)
		default:
			return batch
		}
	}
	return batch
}

func (w *writer) drain() {
	for {
		select {
		case j := <-w.jobs:
			w.commit(w.gather(j))
		default:
			return
		}
	}
}

// commit writes one batch. A (device, reading id) pair that occurs twice in the batch — a device
// resending while its first attempt is still in flight — is stored once and the rest count as
// duplicates.
func (w *writer) commit(batch []*job) {
	type ref struct{ job, index int }
	type key struct{ device, id string }
	var readings []rpm.Reading
	var refs []ref
	var rejected []store.RejectedReading
	seen := map[key]bool{}
	outcomes := make([][]store.IntakeOutcome, len(batch))
	for j, jb := range batch {
		outcomes[j] = make([]store.IntakeOutcome, len(jb.readings))
		rejected = append(rejected, jb.rejected...)
		for i, r := range jb.readings {
			k := key{r.DeviceID, r.DeviceReadingID}
			if seen[k] {
				outcomes[j][i] = store.Duplicate
				continue
			}
			seen[k] = true
			readings, refs = append(readings, r), append(refs, ref{j, i})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	result, stored, err := w.store.WriteIntake(ctx, readings, rejected)
	for i, rf := range refs {
		if err == nil {
			outcomes[rf.job][rf.index] = result[i]
		}
	}
	for j, jb := range batch {
		jb.done <- jobResult{outcomes: outcomes[j], err: err}
	}
	if err != nil {
		w.log.Warn("intake batch failed; its requests answered 503", slog.Int("requests", len(batch)), slog.Any("err", err))
		return
	}
	for _, c := range w.consumers {
		c.ReadingsStored(ctx, stored)
	}
}
