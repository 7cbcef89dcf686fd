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
	// tokenHash and deviceID, when set, are the credential the request came with: the batch checks
	// that it is still live before writing (writer.verify).
	tokenHash []byte
	deviceID  string
	readings  []rpm.Reading
	rejected  []store.RejectedReading
	done      chan jobResult
}

// size is how many rows the job writes.
func (j *job) size() int { return len(j.readings) + len(j.rejected) }

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
	evaluator store.Evaluator
	// credentials is the cache to correct when a batch finds a credential no longer live.
	credentials *credentials
	log         *slog.Logger
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
	batch, n := []*job{first}, first.size()
	for n < w.maxBatch {
		select {
		case j := <-w.jobs:
			batch, n = append(batch, j), n+j.size()
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

// commit writes one batch. If the batch fails and holds several requests, each is tried on its
// own, so that one request the database refuses cannot cost the others their answer.
func (w *writer) commit(batch []*job) {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	live, err := w.verify(ctx, batch)
	if err != nil {
		for _, jb := range batch {
			jb.done <- jobResult{err: err}
		}
		w.log.Warn("checking device credentials failed; answered 503", slog.Any("err", err))
		return
	}
	if batch = live; len(batch) == 0 {
		return
	}
	outcomes, stored, err := w.write(ctx, batch)
	if err != nil && len(batch) > 1 {
		for _, jb := range batch {
			w.commit([]*job{jb})
		}
		return
	}
	if err != nil {
		batch[0].done <- jobResult{err: err} // a batch of one: the retries above split larger ones
		w.log.Warn("an intake request could not be stored; answered 503", slog.Any("err", err))
		return
	}
	for j, jb := range batch {
		jb.done <- jobResult{outcomes: outcomes[j]}
	}
	for _, c := range w.consumers {
		c.ReadingsStored(ctx, stored)
	}
}

// write stores a batch in one transaction and returns each job's outcomes. A (device, reading id)
// pair that occurs twice in the batch — a device resending while its first attempt is still in
// flight — is written once; the later copies get the first's outcome, a stored one counting as a
// duplicate.
func (w *writer) write(ctx context.Context, batch []*job) ([][]store.IntakeOutcome, []rpm.Reading, error) {
	type ref struct{ job, index int }
	type key struct{ device, id string }
	var readings []rpm.Reading
	var refs []ref
	var rejected []store.RejectedReading
	first := map[key]int{} // → position in readings
	copies := map[ref]int{}
	for j, jb := range batch {
		rejected = append(rejected, jb.rejected...)
		for i, r := range jb.readings {
			k := key{r.DeviceID, r.DeviceReadingID}
			if at, seen := first[k]; seen {
				copies[ref{j, i}] = at
				continue
			}
			first[k] = len(readings)
			readings, refs = append(readings, r), append(refs, ref{j, i})
		}
	}
	result, stored, err := w.store.WriteIntake(ctx, readings, rejected, w.evaluator)
	if err != nil {
		return nil, nil, err
	}
	outcomes := make([][]store.IntakeOutcome, len(batch))
	for j, jb := range batch {
		outcomes[j] = make([]store.IntakeOutcome, len(jb.readings))
	}
	for i, rf := range refs {
		outcomes[rf.job][rf.index] = result[i]
	}
	for rf, at := range copies {
		o := result[at]
		if o == store.Stored {
			o = store.Duplicate
		}
		outcomes[rf.job][rf.index] = o
	}
	return outcomes, stored, nil
}
