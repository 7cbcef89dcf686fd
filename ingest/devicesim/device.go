package devicesim

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// maxPending is how many unsent batches a device keeps; when more pile up (Vigil down for long),
// the oldest is dropped, as a device with a full buffer does.
const maxPending = 100

// Reading ids are "<prefix>-<counter>": the prefix is up to idPrefixLen letters and digits of the
// device ID and a run tag (the start time, base 36 ms), so a second run does not resend the first
// run's ids; the counter is zero-padded to idCounterDigits.
const (
	idPrefixLen     = 8
	idCounterDigits = 6
)

// bufPool holds encoded batches' buffers.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// batch is one encoded request body. refs counts the holders (the queue, possibly twice, and
// device.last); the buffer goes back to the pool when the last lets go.
type batch struct {
	body     *bytes.Buffer
	readings int
	refs     int
}

// device is one simulated device. All its state belongs to its own goroutine.
type device struct {
	cfg      *Config
	dev      Device
	patient  *Patient
	rng      *rand.Rand // values and per-batch decisions: deterministic given Config.Seed
	jitter   *rand.Rand // start offset and backoff jitter, apart so retries do not change values
	log      *slog.Logger
	url      string
	auth     string
	firmware string
	start    time.Time
	head     time.Duration
	prefix   []byte
	counter  int64
	readings []Reading // reused for every batch
	queue    []*batch  // unsent batches, oldest first
	last     *batch    // the previous batch, for duplicate resends
	attempt  int       // consecutive failed posts of the queue's head
	retryAt  time.Time // no post before this (real time)
	failing  int       // HTTP status of the last dropped batch, to log a run of drops once
}

// newDevice is device i of cfg (already resolved), for a run that started at start.
func newDevice(cfg *Config, i int, d Device, start time.Time) *device {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i)))
	dv := &device{
		cfg:      cfg,
		dev:      d,
		patient:  NewPatient(d, start.Add(-d.Head), rng), // the simulated clock reads real time at the start
		rng:      rng,
		jitter:   rand.New(rand.NewPCG(uint64(cfg.Seed)^0x6a09e667f3bcc909, uint64(i))),
		log:      cfg.Log.With("device", d.ID),
		url:      cfg.BaseURL + readingsPath,
		auth:     "Bearer " + d.Token,
		firmware: d.Firmware,
		start:    start,
		head:     d.Head,
		prefix:   idPrefix(d.ID, start),
	}
	if dv.firmware == "" {
		dv.firmware = defaultFirmware
	}
	return dv
}

// idPrefix is the "<device>-<run tag>-" start of every reading id of the device in this run.
func idPrefix(id string, start time.Time) []byte {
	p := make([]byte, 0, idPrefixLen+16)
	for i := 0; i < len(id) && len(p) < idPrefixLen; i++ {
		switch c := id[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z':
			p = append(p, c)
		case c >= 'A' && c <= 'Z':
			p = append(p, c+'a'-'A')
		}
	}
	if len(p) == 0 {
		p = append(p, "dev"...)
	}
	p = append(p, '-')
	p = strconv.AppendInt(p, start.UnixMilli(), 36)
	return append(p, '-')
}

// run measures on the device's cadence — every interval from a random offset within the first,
// or at its schedule's times — and posts, until ctx ends or the device stops (silent, battery
// empty).
func (d *device) run(ctx context.Context) {
	defer d.releaseAll()
	due := time.NewTimer(d.firstWait())
	defer due.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-due.C:
			if !d.measure() {
				return
			}
			due.Reset(d.untilNext())
		case <-retry.C:
		}
		d.flush(ctx, retry)
	}
}

// firstWait is the real time until the device's first measurement.
func (d *device) firstWait() time.Duration {
	if d.dev.Schedule.Continuous() {
		return time.Duration(d.jitter.Int64N(int64(d.cfg.Interval)))
	}
	return d.untilNext()
}

// untilNext is the real time until the device's next measurement: an interval for a continuous
// device; for a spot-check one, its patient's next time on the simulated clock, which runs Speed
// times as fast as real time.
func (d *device) untilNext() time.Duration {
	if d.dev.Schedule.Continuous() {
		return d.cfg.Interval
	}
	now := d.clock(d.cfg.Now())
	return time.Duration(float64(d.patient.NextMeasurement(now).Sub(now)) / d.cfg.Speed)
}

// clock is the simulated clock at real time t: real time at the start, then Speed times as fast.
func (d *device) clock(t time.Time) time.Time {
	return d.start.Add(time.Duration(float64(t.Sub(d.start)) * d.cfg.Speed))
}

// measure takes one measurement and queues its batch, after a resend of the previous batch when
// the dice say so. It reports false when the device has stopped for good.
func (d *device) measure() bool {
	now := d.cfg.Now()
	sinceStart := now.Sub(d.start)
	if d.patient.scenario == Silent && sinceStart >= d.cfg.SilentAfter {
		d.log.Info("device fell silent", "after", sinceStart.Round(time.Millisecond))
		return false
	}
	elapsed := d.head + time.Duration(float64(sinceStart)*d.cfg.Speed)
	battery := d.patient.Battery(elapsed)
	if battery <= 0 {
		d.log.Info("device battery empty; device off", "simulated", elapsed.Round(time.Second))
		return false
	}
	if d.last != nil && d.rng.Float64() < d.cfg.DuplicateRate {
		d.enqueue(d.last)
	}
	b := d.build(now, elapsed, battery)
	d.enqueue(b)
	d.setLast(b)
	return true
}

// build measures and encodes one batch taken at real time now.
func (d *device) build(now time.Time, elapsed time.Duration, battery float64) *batch {
	rs := d.patient.Measure(d.readings[:0], elapsed, d.rng)
	if d.rng.Float64() < d.cfg.ImplausibleRate {
		Corrupt(&rs[d.rng.IntN(len(rs))])
	}
	at := now.Add(d.patient.skew).UTC().Format(AtLayout)
	for i := range rs {
		rs[i].ID, rs[i].At = d.nextID(), at
	}
	d.readings = rs
	p := Payload{Readings: rs, Status: Status{
		Battery:   math.Round(battery*100) / 100,
		Firmware:  d.firmware,
		SignalDBm: d.patient.SignalDBm(d.rng),
	}}
	body := bufPool.Get().(*bytes.Buffer)
	body.Reset()
	if err := json.NewEncoder(body).Encode(&p); err != nil {
		panic("devicesim: encoding a payload: " + err.Error()) // only plain types: cannot fail
	}
	return &batch{body: body, readings: len(rs)}
}

// nextID is the device's next reading id.
func (d *device) nextID() string {
	d.counter++
	var id [64]byte
	var digits [20]byte
	n := strconv.AppendInt(digits[:0], d.counter, 10)
	b := append(id[:0], d.prefix...)
	for range idCounterDigits - len(n) {
		b = append(b, '0')
	}
	return string(append(b, n...))
}

// enqueue appends b to the unsent batches, dropping the oldest when maxPending are waiting.
func (d *device) enqueue(b *batch) {
	if len(d.queue) >= maxPending {
		d.log.Warn("too many unsent batches; dropping the oldest", "pending", len(d.queue))
		d.cfg.Stats.Failures.Add(1)
		d.popHead()
	}
	b.refs++
	d.queue = append(d.queue, b)
}

// setLast keeps b as the batch a duplicate would resend.
func (d *device) setLast(b *batch) {
	if d.last != nil {
		d.release(d.last)
	}
	b.refs++
	d.last = b
}

// dequeue removes the queue's head, once delivered or given up.
func (d *device) dequeue() {
	d.popHead()
	d.attempt = 0
}

// popHead lets go of the oldest unsent batch.
func (d *device) popHead() {
	d.release(d.queue[0])
	n := copy(d.queue, d.queue[1:])
	d.queue[n] = nil
	d.queue = d.queue[:n]
}

func (d *device) release(b *batch) {
	if b.refs--; b.refs == 0 {
		bufPool.Put(b.body)
		b.body = nil
	}
}

// releaseAll lets go of every batch when the device stops.
func (d *device) releaseAll() {
	for _, b := range d.queue {
		d.release(b)
	}
	d.queue = nil
	if d.last != nil {
		d.release(d.last)
		d.last = nil
	}
}
