package devicesim

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// historySalt keeps History's measurement noise apart from the live run's.
const historySalt = 0x8c1f_3a5e_77d2_0b49

// History is part of the past that the run Run(ctx, cfg) continues: what device i of cfg measured
// from from until to (at most cfg.Start), drawn from the same patient and story as the run — a
// deterioration hours under way has those hours in it, episodes recur at their frequency — and
// deterministic given cfg.Seed and from. A continuous device measures every step, on a grid of
// step (so histories over the same time, or with a step that divides another's, share times); a
// spot-check device at its Schedule's times and symptom checks. The readings are as Vigil stores
// them: in canonical units, effective and received at the measurement's time, with ids
// "bf-<code>-<unix seconds>", the same whenever the same measurement is drawn again. History has
// no resends, implausible values or clock skew.
//
// It also returns the device's status at its last measurement (zero when it measured nothing).
// It needs cfg.Start and a positive step; BaseURL and the other settings of a live run are not used.
func (cfg Config) History(i int, from, to time.Time, step time.Duration) ([]rpm.Reading, rpm.DeviceReport, error) {
	if step <= 0 {
		return nil, rpm.DeviceReport{}, errors.New("devicesim: History needs a positive step")
	}
	h, err := cfg.newHistory(i, from)
	if err != nil {
		return nil, rpm.DeviceReport{}, err
	}
	if to.After(cfg.Start) {
		to = cfg.Start
	}
	h.measurements(from, to, step)
	return h.readings, h.status(), nil
}

// newHistory is device i's history from from, with the patient of the run's device i.
func (cfg Config) newHistory(i int, from time.Time) (*history, error) {
	if cfg.Start.IsZero() || i < 0 || i >= len(cfg.Devices) {
		return nil, errors.New("devicesim: History needs Config.Start and one of the config's devices")
	}
	if err := checkDevices(cfg.Devices); err != nil {
		return nil, err
	}
	h := &history{cfg: cfg, dev: cfg.Devices[i], speed: orDefault(cfg.Speed, DefaultSpeed),
		noise: rand.New(rand.NewPCG(uint64(cfg.Seed)^historySalt^uint64(from.UnixNano()), uint64(i)))}
	// The same draws as newDevice makes for device i: the same patient.
	h.patient = NewPatient(h.dev, cfg.Start.Add(-h.dev.Head), rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i))))
	return h, nil
}

// history builds one device's History.
type history struct {
	cfg      Config
	dev      Device
	patient  *Patient
	speed    float64
	noise    *rand.Rand
	readings []rpm.Reading
	last     time.Time
	measured []Reading // reused for each measurement
}

// measurements takes the device's measurements from from until to.
func (h *history) measurements(from, to time.Time, step time.Duration) {
	if h.dev.Schedule.Continuous() {
		at := from.Truncate(step)
		if at.Before(from) {
			at = at.Add(step)
		}
		for ; at.Before(to); at = at.Add(step) {
			h.measure(at)
		}
		return
	}
	for at := h.next(from.Add(-time.Nanosecond)); at.Before(to); at = h.next(at) {
		h.measure(at)
	}
}

// next is the real time of the spot-check device's next measurement after real time t.
func (h *history) next(t time.Time) time.Time {
	start := h.cfg.Start
	clock := start.Add(time.Duration(float64(t.Sub(start)) * h.speed))
	at := start.Add(time.Duration(float64(h.patient.NextMeasurement(clock).Sub(start)) / h.speed))
	if !at.After(t) { // rounding at a high speed
		at = t.Add(time.Nanosecond)
	}
	return at
}

// measure adds the readings of one measurement at real time at.
func (h *history) measure(at time.Time) {
	elapsed := h.dev.Head + time.Duration(float64(at.Sub(h.cfg.Start))*h.speed)
	h.measured = h.patient.Measure(h.measured[:0], elapsed, h.noise)
	suffix := "-" + strconv.FormatInt(at.Unix(), 10)
	for _, m := range h.measured {
		r, rej := rpm.Normalize(m.Code, m.Unit, m.Value)
		if rej != nil { // the model stays within the plausible ranges: not expected
			continue
		}
		r.DeviceID, r.DeviceReadingID, r.EffectiveAt, r.ReceivedAt = h.dev.ID, "bf-"+m.Code+suffix, at, at
		h.readings = append(h.readings, r)
	}
	h.last = at
}

// status is the device's report at its last measurement.
func (h *history) status() rpm.DeviceReport {
	if h.last.IsZero() {
		return rpm.DeviceReport{}
	}
	elapsed := h.dev.Head + time.Duration(float64(h.last.Sub(h.cfg.Start))*h.speed)
	battery := math.Round(h.patient.Battery(elapsed)*100) / 100
	signal := h.patient.SignalDBm(h.noise)
	firmware := h.dev.Firmware
	if firmware == "" {
		firmware = defaultFirmware
	}
	return rpm.DeviceReport{DeviceID: h.dev.ID, At: h.last, Battery: &battery, Firmware: firmware, SignalDBM: &signal}
}
