// Package devicesim simulates a fleet of remote-monitoring devices that post readings to Vigil's
// intake API (POST /api/v1/readings, docs/API.md) the way real devices do: realistic, drifting, noisy
// vital signs with scenario curves on top (deterioration, hypoxic or hypotensive episodes, fever),
// continuous devices and spot-check ones used at times of the patient's day, resends of batches,
// implausible values, skewed clocks, devices that fall silent or run flat, and retries with backoff
// when Vigil is busy or down.
//
// It is the demo's data source and the load generator of `vigil simulate`: one goroutine per
// device, pooled buffers and keep-alive connections, so one process can simulate thousands of
// devices. [Config.History] draws what a run's devices measured before it started, for the demo's
// stored history.
//
// Value generation is a pure function of the device, the simulated time and a random source (see
// [NewPatient], [Patient.Vitals], [Patient.Measure] and [Patient.NextMeasurement]), so tests can
// check scenario shapes without a network.
package devicesim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Scenario is what happens to the simulated patient behind a device.
type Scenario string

// The scenarios. Curves run on simulated time (see [Config.Speed]).
const (
	// Stable is a patient whose vitals only drift and vary within their own normal band.
	Stable Scenario = "stable"
	// Deterioration is a patient getting slowly worse over hours, raising NEWS2: respiratory rate,
	// heart rate and temperature rise, SpO2 and systolic pressure fall.
	Deterioration Scenario = "deterioration"
	// Hypoxic is a patient with episodes of SpO2 at 84–88 %, 5–15 minutes long, 6–8 hours apart;
	// the first starts at simulated time zero.
	Hypoxic Scenario = "hypoxic"
	// Hypotensive is a patient with episodes of systolic pressure at 80–88 mm Hg, 5–15 minutes
	// long, 8–12 hours apart, the first at simulated time zero. Feeling faint, the patient also
	// takes their blood pressure during an episode, besides the cuff's schedule.
	Hypotensive Scenario = "hypotensive"
	// Fever is a patient whose temperature swings each day between 38.5 °C at dawn and 39.8 °C in
	// the early evening.
	Fever Scenario = "fever"
	// Silent is a device that stops sending, for good, after [Config.SilentAfter].
	Silent Scenario = "silent"
	// BatteryDrain is a device never put on charge: at 25 % at simulated time zero, low within
	// the hour, empty about three hours later; then it stops.
	BatteryDrain Scenario = "battery_drain"
	// ClockSkew is a device whose clock runs several minutes fast, so its readings' times do.
	ClockSkew Scenario = "clock_skew"
)

// Scenarios lists every scenario.
var Scenarios = []Scenario{Stable, Deterioration, Hypoxic, Hypotensive, Fever, Silent, BatteryDrain, ClockSkew}

// Device is one simulated device: the ID and Token Vigil knows it by, what kind it is, what
// happens to its patient, and the firmware version it reports ("1.0.0" when empty).
type Device struct {
	ID, Token string
	Kind      rpm.DeviceKind
	Scenario  Scenario // empty means Stable
	Firmware  string
	// Head is how far the patient's story has run when the simulation starts, in simulated time:
	// a deterioration already hours under way. It may be negative: an episodic story's first
	// episode starts at simulated time zero, -Head after the start.
	Head time.Duration
	// Schedule is when a spot-check device measures, on the patient's local clock (see
	// [UsualSchedule]); the zero Schedule means continuously, every [Config.Interval].
	Schedule Schedule
	// Location is the patient's time zone, which sets their day: for Schedule and daily steps.
	// Nil means the location of the start time.
	Location *time.Location
}

// Defaults of [Config].
const (
	DefaultInterval        = 10 * time.Second
	DefaultSpeed           = 1.0
	DefaultDuplicateRate   = 0.02
	DefaultImplausibleRate = 0.01
	DefaultSilentAfter     = 10 * time.Minute
	DefaultClientTimeout   = 10 * time.Second
	defaultFirmware        = "1.0.0"
)

// Config is a simulation run. Zero fields take the defaults above.
type Config struct {
	// BaseURL is Vigil's address, e.g. http://127.0.0.1:8080; readings go to BaseURL/api/v1/readings.
	BaseURL string
	Devices []Device
	// Interval is how often each continuous device measures and sends a batch. Each starts at a
	// random offset within the first interval, so load is spread. A device with a Schedule
	// measures at its times instead.
	Interval time.Duration
	// Speed is how many times faster than real time the simulated patients live: it drives the
	// scenario curves, drift and battery. Readings' "at" stays real time (plus any clock skew).
	Speed float64
	// DuplicateRate is the per-batch probability of first resending the previous batch unchanged
	// (same bytes, same ids), as a device does that missed an answer. Negative disables it.
	DuplicateRate float64
	// ImplausibleRate is the per-batch probability that one value is implausible: a unit or
	// sensor error such as a heart rate of 720 or an SpO2 of 130 %. Negative disables it.
	ImplausibleRate float64
	// SilentAfter is how long, in real time from the start of Run, a Silent device sends.
	SilentAfter time.Duration
	// Client posts the batches; nil means a client with a 10 s timeout and keep-alive
	// connections enough for every device.
	Client *http.Client
	// Seed makes the run's values deterministic: device i draws from a source seeded by (Seed, i).
	Seed int64
	// Log receives the simulator's log lines (nil discards them). Tokens are never logged.
	Log *slog.Logger
	// Now is the clock of readings' times and of simulated time; nil means time.Now.
	Now func() time.Time
	// Start is when the run starts, in real time: each device's story is at its Head then, and
	// its [Config.History] ends. Zero means when Run is called.
	Start time.Time
	// Stats, if set, is where Run counts, so a caller can watch it while Run blocks; nil means
	// a new Stats.
	Stats *Stats
}

// readingsPath is the intake endpoint, relative to Config.BaseURL.
const readingsPath = "/api/v1/readings"

// Run simulates cfg's devices until ctx ends, then waits for every device goroutine to stop and
// returns the counts. It returns an error, without sending anything, only when cfg is invalid.
// Batches still unsent when ctx ends are abandoned.
func Run(ctx context.Context, cfg Config) (*Stats, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if c.Client == nil {
		c.Client = newClient(len(c.Devices))
		defer c.Client.CloseIdleConnections()
	}
	start := c.Start
	if start.IsZero() {
		start = c.Now()
	}
	var wg sync.WaitGroup
	for i, d := range c.Devices {
		dev := newDevice(&c, i, d, start)
		wg.Go(func() { dev.run(ctx) })
	}
	<-ctx.Done()
	wg.Wait()
	return c.Stats, nil
}

// resolve checks cfg and fills in its defaults.
func (cfg Config) resolve() (Config, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("devicesim: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if len(cfg.Devices) == 0 {
		return cfg, errors.New("devicesim: no devices")
	}
	if err := checkDevices(cfg.Devices); err != nil {
		return cfg, err
	}
	if cfg.Interval < 0 || cfg.Speed < 0 || cfg.SilentAfter < 0 || cfg.DuplicateRate > 1 || cfg.ImplausibleRate > 1 {
		return cfg, errors.New("devicesim: Interval, Speed and SilentAfter must not be negative, rates at most 1")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.Interval = orDefault(cfg.Interval, DefaultInterval)
	cfg.Speed = orDefault(cfg.Speed, DefaultSpeed)
	cfg.SilentAfter = orDefault(cfg.SilentAfter, DefaultSilentAfter)
	cfg.DuplicateRate = rate(cfg.DuplicateRate, DefaultDuplicateRate)
	cfg.ImplausibleRate = rate(cfg.ImplausibleRate, DefaultImplausibleRate)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Stats == nil {
		cfg.Stats = new(Stats)
	}
	return cfg, nil
}

func checkDevices(devices []Device) error {
	seen := make(map[string]bool, len(devices))
	for i, d := range devices {
		switch {
		case d.ID == "":
			return fmt.Errorf("devicesim: device %d has no ID", i)
		case seen[d.ID]:
			return fmt.Errorf("devicesim: device ID %q appears twice", d.ID)
		case kindMetrics[d.Kind] == nil:
			return fmt.Errorf("devicesim: device %q has unknown kind %q", d.ID, d.Kind)
		case d.Scenario != "" && !knownScenario(d.Scenario):
			return fmt.Errorf("devicesim: device %q has unknown scenario %q", d.ID, d.Scenario)
		}
		if err := d.Schedule.check(); err != nil {
			return fmt.Errorf("devicesim: device %q: %w", d.ID, err)
		}
		seen[d.ID] = true
	}
	return nil
}

func knownScenario(s Scenario) bool {
	for _, k := range Scenarios {
		if s == k {
			return true
		}
	}
	return false
}

func orDefault[T time.Duration | float64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// rate is a configured probability: 0 means the default, negative means never.
func rate(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// newClient is the default client: a 10 s timeout and an idle keep-alive connection per device,
// so thousands of devices do not redial for every batch.
func newClient(devices int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(devices, 100)
	t.MaxIdleConnsPerHost = max(devices, 100)
	return &http.Client{Timeout: DefaultClientTimeout, Transport: t}
}
