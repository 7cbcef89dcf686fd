// Package ingest takes readings from devices: it decodes and validates each reading, normalises it
// to Vigil's canonical units, stores it durably (several requests sharing one commit), answers only
// after the commit, and then hands the stored readings to the alert engine and the live bus.
package ingest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// Consumer receives readings after they are durably stored, in the writer's goroutine: it must
// return quickly (hand the readings on, never block on a client).
type Consumer interface {
	ReadingsStored(ctx context.Context, readings []rpm.Reading)
}

// Options tunes intake. Zero values take the defaults.
type Options struct {
	// ClockSkew is how far ahead of Vigil's clock a reading's time may be (default 2 minutes).
	ClockSkew time.Duration
	// Horizon is how old a reading may be (default 30 days).
	Horizon time.Duration
	// RatePerSecond and Burst limit each device's requests (default 5/s, bursts of 20).
	RatePerSecond float64
	Burst         int
	// MaxBatch is the most readings one commit gathers (default 5000); Writers is how many
	// commits may be under way at once (default 2).
	MaxBatch int
	Writers  int
	// Consumers receive stored readings.
	Consumers []Consumer
	// Evaluator, if set, evaluates the alert rules on stored readings in the transaction that
	// stores them.
	Evaluator store.Evaluator
	Now       func() time.Time
	Log       *slog.Logger
}

// Service is device intake. Start its background work with Run.
type Service struct {
	stopped     chan struct{} // closed when the writers have stopped
	store       *store.Store
	opts        Options
	writer      *writer
	status      *statusBook
	limiters    *limiters
	credentials *credentials
}

// New returns the intake service over the store.
func New(st *store.Store, opts Options) *Service {
	if opts.ClockSkew == 0 {
		opts.ClockSkew = 2 * time.Minute
	}
	if opts.Horizon == 0 {
		opts.Horizon = 30 * 24 * time.Hour
	}
	if opts.RatePerSecond == 0 {
		opts.RatePerSecond, opts.Burst = 5, 20
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = 5000
	}
	if opts.Writers == 0 {
		opts.Writers = 2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	creds := &credentials{capacity: maxCachedCredentials}
	return &Service{
		stopped: make(chan struct{}),
		store:   st, opts: opts,
		writer: &writer{store: st, jobs: make(chan *job, 1024), maxBatch: opts.MaxBatch, consumers: opts.Consumers, evaluator: opts.Evaluator,
			credentials: creds, log: opts.Log},
		status:      newStatusBook(st, opts.Log),
		limiters:    &limiters{every: rate.Limit(opts.RatePerSecond), burst: opts.Burst, byDevice: map[string]*deviceLimiter{}},
		credentials: creds,
	}
}

// Run does intake's background work — the writers and the status flusher — until ctx ends. Stop
// taking requests before ending ctx: queued batches are committed on the way out.
func (s *Service) Run(ctx context.Context) {
	done := make(chan struct{})
	for range s.opts.Writers {
		go func() { s.writer.run(ctx); done <- struct{}{} }()
	}
	go func() { s.status.run(ctx); done <- struct{}{} }()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for running := s.opts.Writers + 1; running > 0; {
		select {
		case <-done:
			running--
		case now := <-t.C:
			s.limiters.forget(10*time.Minute, now)
		}
	}
	close(s.stopped)
	s.writer.drain() // a request that queued while the writers were finishing
}

// FlushStatus writes the devices' reported status and reading times at once instead of at the
// next periodic flush: for callers that run on a clock of their own (tests, the clinical-safety
// replay) and must see them before the timers look.
func (s *Service) FlushStatus(ctx context.Context) {
	s.status.flushMetrics(ctx, true)
	s.status.flush(ctx)
}

// Result is the answer to one request (docs/API.md).
type Result struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected"`
}

// Rejection is one refused reading in the answer.
type Rejection struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// RateLimitedError says a device must wait before posting again.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string { return "ingest: rate limited" }

// RetryAfterSeconds is the Retry-After header's value.
func (e *RateLimitedError) RetryAfterSeconds() int { return retryAfterSeconds(e.RetryAfter) }

// ErrUnavailable means the readings could not be stored now; nothing of the request was written.
var ErrUnavailable = errors.New("ingest: storage unavailable")

// Accept takes one request's body from an authenticated, active device. It answers after the
// accepted readings are durably stored. Whole-request failures are *MalformedError (400),
// *RateLimitedError (429) and ErrUnavailable (503).
func (s *Service) Accept(ctx context.Context, deviceID string, body []byte) (Result, error) {
	return s.AcceptWithToken(ctx, deviceID, nil, body)
}

// AcceptWithToken is Accept for a device authenticated by Authenticate with this token hash: the
// batch that writes the request first checks that the credential is still live, and answers
// ErrUnknownToken or ErrDeviceInactive (401) if it no longer is.
func (s *Service) AcceptWithToken(ctx context.Context, deviceID string, tokenHash []byte, body []byte) (Result, error) {
	now := s.opts.Now()
	if ok, wait := s.limiters.allow(deviceID, now); !ok {
		return Result{}, &RateLimitedError{RetryAfter: wait}
	}
	p, err := decodePayload(body)
	if err != nil {
		return Result{}, err
	}
	res := Result{Rejected: []Rejection{}}
	jb := &job{tokenHash: tokenHash, deviceID: deviceID, done: make(chan jobResult, 1)}
	ids := make([]string, 0, len(p.Readings)) // the id of each entry of jb.readings
	index := make([]int, 0, len(p.Readings))  // its place in the request
	var newest time.Time
	win := timeWindow{now: now, skew: s.opts.ClockSkew, horizon: s.opts.Horizon, newest: &newest}
	for i, raw := range p.Readings {
		id, reading, rej := validate(raw, deviceID, win)
		if rej != nil {
			res.Rejected = append(res.Rejected, Rejection{Index: i, ID: id, Reason: rej.Reason, Message: rej.Message})
			if len(jb.rejected) < maxStoredRejections {
				jb.rejected = append(jb.rejected, store.RejectedReading{DeviceID: deviceID, DeviceReadingID: id,
					Reason: rej.Reason, Field: rej.Field, Sent: sentForReview(raw), ReceivedAt: now})
			}
			continue
		}
		jb.readings, ids, index = append(jb.readings, reading), append(ids, id), append(index, i)
	}
	if len(jb.readings) == 0 && len(jb.rejected) == 0 {
		// Nothing to write, so no batch checks the credential: check it here, so that a revoked
		// token or a lost device cannot keep reporting itself online.
		if err := s.checkCredential(ctx, deviceID, tokenHash); err != nil {
			return Result{}, err
		}
		s.status.note(decodeStatus(p.Status, deviceID, now))
		return res, nil
	}
	out, err := s.submit(ctx, jb)
	if err != nil {
		return Result{}, err
	}
	report := decodeStatus(p.Status, deviceID, now) // noted only once the batch checked the credential
	if !newest.IsZero() {
		ahead := max(newest.Sub(now), 0).Round(time.Second)
		report.ClockAhead = &ahead
	}
	var stored []rpm.Reading
	for k, o := range out {
		switch o {
		case store.Stored:
			res.Accepted++
			stored = append(stored, jb.readings[k])
		case store.Duplicate:
			res.Duplicates++
		case store.Unassigned:
			res.Rejected = append(res.Rejected, Rejection{Index: index[k], ID: ids[k], Reason: rpm.ReasonDeviceUnassigned,
				Message: "The device was not assigned to a patient at the reading's time."})
		}
	}
	if len(stored) > 0 {
		report.LastReadingAt = now
	}
	s.status.note(report)
	s.status.noteReadings(stored)
	return res, nil
}

// submit queues a job for the writers and waits for its batch to commit.
func (s *Service) submit(ctx context.Context, jb *job) ([]store.IntakeOutcome, error) {
	select {
	case s.writer.jobs <- jb:
	case <-ctx.Done():
		return nil, ErrUnavailable
	case <-s.stopped:
		return nil, ErrUnavailable
	}
	select {
	case r := <-jb.done:
		if errors.Is(r.err, ErrUnknownToken) || errors.Is(r.err, ErrDeviceInactive) {
			return nil, r.err
		}
		if r.err != nil {
			return nil, ErrUnavailable
		}
		return r.outcomes, nil
	case <-ctx.Done():
		// The batch may still commit; the device's retry with the same ids is then a duplicate.
		return nil, ErrUnavailable
	}
}
