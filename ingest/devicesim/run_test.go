package devicesim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

var idPattern = regexp.MustCompile(`^[a-z0-9]{1,8}-[a-z0-9]+-[0-9]{6,}$`)

func fastConfig(f *fakeVigil, devices ...Device) Config {
	return Config{BaseURL: f.srv.URL, Devices: devices, Interval: 5 * time.Millisecond,
		DuplicateRate: -1, ImplausibleRate: -1, Seed: 1}
}

func ids(p Payload) []string {
	out := make([]string, len(p.Readings))
	for i, r := range p.Readings {
		out[i] = r.ID
	}
	return out
}

func TestPayloadShape(t *testing.T) {
	t.Parallel()
	f := newFakeVigil(t, nil)
	var devs []Device
	for kind := range kindMetrics {
		devs = append(devs, Device{ID: "dev-" + string(kind), Token: "tok-" + string(kind), Kind: kind, Firmware: "2.4.1"})
	}
	runUntil(t, fastConfig(f, devs...), 2*time.Second, func() bool { return f.count() >= 3*len(devs) })
	for _, p := range f.snapshot() {
		if p.method != http.MethodPost || p.path != "/api/v1/readings" || p.ctype != "application/json" || !bytes.HasPrefix([]byte(p.auth), []byte("Bearer tok-")) {
			t.Fatalf("request %s %s, Content-Type %q, Authorization %q", p.method, p.path, p.ctype, p.auth)
		}
		if keys := sortedKeys(mustObject(t, p.body)); !slices.Equal(keys, []string{"readings", "status"}) {
			t.Fatalf("top-level keys %v", keys)
		}
		var shape struct {
			Readings []map[string]any `json:"readings"`
			Status   map[string]any   `json:"status"`
		}
		if err := json.Unmarshal(p.body, &shape); err != nil {
			t.Fatalf("body %s: %v", p.body, err)
		}
		if keys := sortedKeys(shape.Status); !slices.Equal(keys, []string{"battery", "firmware", "signal_dbm"}) || shape.Status["firmware"] != "2.4.1" {
			t.Fatalf("status %v", shape.Status)
		}
		for _, r := range shape.Readings {
			if keys := sortedKeys(r); !slices.Equal(keys, []string{"at", "code", "id", "unit", "value"}) {
				t.Fatalf("reading keys %v", keys)
			}
			at, err := time.Parse(time.RFC3339Nano, r["at"].(string))
			if err != nil || at.Location() != time.UTC || !idPattern.MatchString(r["id"].(string)) {
				t.Fatalf("reading %v: at or id malformed (%v)", r, err)
			}
		}
		kind := rpm.DeviceKind(p.auth[len("Bearer tok-"):])
		var codes []string
		for _, r := range p.payload.Readings {
			codes = append(codes, r.Code)
			if !plausible(r) {
				t.Errorf("%s sent implausible %v", kind, r)
			}
		}
		if !slices.Equal(codes, kindMetrics[kind]) {
			t.Errorf("%s sent %v", kind, codes)
		}
		if b := p.payload.Status.Battery; b <= 0 || b > 1 || p.payload.Status.SignalDBm > -40 || p.payload.Status.SignalDBm < -115 {
			t.Errorf("status %+v", p.payload.Status)
		}
	}
}

func mustObject(t *testing.T, body []byte) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not an object: %v", err)
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestDeteriorationOverRun(t *testing.T) {
	t.Parallel()
	f := newFakeVigil(t, nil)
	cfg := fastConfig(f, Device{ID: "bed-1", Token: "tok", Kind: rpm.KindBedsideMonitor, Scenario: Deterioration})
	cfg.Interval = 2 * time.Millisecond
	cfg.Speed = float64(10*time.Hour) / float64(250*time.Millisecond) // 10 simulated hours in 250 ms
	simHour := time.Duration(float64(time.Hour) / cfg.Speed)
	span := func() time.Duration {
		ps := f.snapshot()
		if len(ps) == 0 {
			return 0
		}
		return ps[len(ps)-1].measured.Sub(ps[0].measured)
	}
	runUntil(t, cfg, 3*time.Second, func() bool { return span() >= 10*simHour })
	ps := f.snapshot()
	t0, t1 := ps[0].measured, ps[len(ps)-1].measured
	var first, last [2]map[string]float64
	for i := range first {
		first[i], last[i] = map[string]float64{}, map[string]float64{}
	}
	for _, p := range ps {
		at := p.measured
		bin := first
		switch {
		case at.Sub(t0) < simHour:
		case t1.Sub(at) < simHour:
			bin = last
		default:
			continue
		}
		for _, r := range p.payload.Readings {
			bin[0][r.Code] += r.Value
			bin[1][r.Code]++
		}
	}
	m := func(b [2]map[string]float64, code string) float64 { return b[0][code] / b[1][code] }
	if m(last, rpm.CodeRespRate)-m(first, rpm.CodeRespRate) < 6 ||
		m(last, rpm.CodeHeartRate)-m(first, rpm.CodeHeartRate) < 20 ||
		m(first, rpm.CodeSpO2)-m(last, rpm.CodeSpO2) < 4 {
		t.Errorf("first hour RR %.1f HR %.1f SpO2 %.1f, last hour RR %.1f HR %.1f SpO2 %.1f (%d batches)",
			m(first, rpm.CodeRespRate), m(first, rpm.CodeHeartRate), m(first, rpm.CodeSpO2),
			m(last, rpm.CodeRespRate), m(last, rpm.CodeHeartRate), m(last, rpm.CodeSpO2), len(ps))
	}
}

func TestRetries503WithSameIDs(t *testing.T) {
	t.Parallel()
	f := newFakeVigil(t, func(n int, _ http.Header) int {
		if n < 2 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	stats := runUntil(t, fastConfig(f, Device{ID: "ox-1", Token: "tok", Kind: rpm.KindPulseOximeter}), 2*time.Second,
		func() bool { return f.count() >= 6 })
	ps := f.snapshot()
	if !bytes.Equal(ps[0].body, ps[1].body) || !bytes.Equal(ps[0].body, ps[2].body) {
		t.Fatalf("a 503'd batch was not resent unchanged:\n%s\n%s\n%s", ps[0].body, ps[1].body, ps[2].body)
	}
	// No batch is lost: the ids after the retries continue the counter without a gap.
	var all []string
	for _, p := range ps[2:] {
		all = append(all, ids(p.payload)...)
	}
	for i := 1; i < len(all); i++ {
		if all[i] <= all[i-1] {
			t.Fatalf("ids out of order or repeated after retry: %v", all)
		}
	}
	if s := stats.Snapshot(); s.Retries < 2 || s.Failures != 0 {
		t.Errorf("stats %+v, want ≥ 2 retries and no failures", s)
	}
}

func TestHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFakeVigil(t, func(n int, h http.Header) int {
		if n == 0 {
			h.Set("Retry-After", "1")
			return http.StatusTooManyRequests
		}
		return 0
	})
	cfg := fastConfig(f, Device{ID: "cuff-1", Token: "tok", Kind: rpm.KindBPCuff})
	cfg.Interval = 20 * time.Millisecond
	runUntil(t, cfg, 3*time.Second, func() bool { return f.count() >= 2 })
	ps := f.snapshot()
	if gap := ps[1].at.Sub(ps[0].at); gap < 990*time.Millisecond || gap > 1500*time.Millisecond {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
	if !bytes.Equal(ps[0].body, ps[1].body) {
		t.Error("the retry after a 429 is not the same batch")
	}
}

func TestRefusedBatchIsDropped(t *testing.T) {
	t.Parallel()
	f := newFakeVigil(t, func(n int, _ http.Header) int {
		if n == 0 {
			return http.StatusBadRequest
		}
		return 0
	})
	stats := runUntil(t, fastConfig(f, Device{ID: "sc-1", Token: "tok", Kind: rpm.KindScale}), 2*time.Second,
		func() bool { return f.count() >= 3 })
	ps := f.snapshot()
	if bytes.Equal(ps[0].body, ps[1].body) {
		t.Error("a batch answered 400 was resent")
	}
	if s := stats.Snapshot(); s.Failures != 1 || s.Retries != 0 {
		t.Errorf("stats %+v, want 1 failure and no retry", s)
	}
}

func TestSilentStops(t *testing.T) {
	t.Parallel()
	f := newFakeVigil(t, nil)
	cfg := fastConfig(f, Device{ID: "th-1", Token: "tok-silent", Kind: rpm.KindThermometer, Scenario: Silent},
		Device{ID: "th-2", Token: "tok-stable", Kind: rpm.KindThermometer})
	cfg.SilentAfter = 30 * time.Millisecond
	begin := time.Now()
	runUntil(t, cfg, 150*time.Millisecond, nil)
	silent, stable := 0, 0
	for _, p := range f.snapshot() {
		if p.auth == "Bearer tok-stable" {
			stable++
			continue
		}
		silent++
		if at := p.measured; at.Sub(begin) > cfg.SilentAfter+5*time.Millisecond {
			t.Errorf("silent device measured at +%v", at.Sub(begin))
		}
	}
	if silent == 0 || stable < 2*silent {
		t.Errorf("silent device sent %d batches, stable one %d", silent, stable)
	}
}

func TestBatteryDrainStops(t *testing.T) {
	t.Parallel()
	f := newFakeVigil(t, nil)
	cfg := fastConfig(f, Device{ID: "wr-1", Token: "tok", Kind: rpm.KindWearable, Scenario: BatteryDrain})
	cfg.Speed = float64(4*time.Hour) / float64(100*time.Millisecond) // empty within ~80 ms
	runUntil(t, cfg, 250*time.Millisecond, nil)
	ps := f.snapshot()
	if len(ps) < 3 {
		t.Fatalf("only %d batches", len(ps))
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].payload.Status.Battery > ps[i-1].payload.Status.Battery {
			t.Fatalf("battery rose: %v then %v", ps[i-1].payload.Status.Battery, ps[i].payload.Status.Battery)
		}
	}
	if last := ps[len(ps)-1]; last.payload.Status.Battery > 0.3 || time.Since(last.at) < 100*time.Millisecond {
		t.Errorf("last batch at battery %v, %v before the end", last.payload.Status.Battery, time.Since(last.at))
	}
}

func TestClockSkew(t *testing.T) {
	t.Parallel()
	f := newFakeVigil(t, nil)
	runUntil(t, fastConfig(f, Device{ID: "gl-1", Token: "tok", Kind: rpm.KindGlucometer, Scenario: ClockSkew}), time.Second,
		func() bool { return f.count() >= 2 })
	for _, p := range f.snapshot() {
		if ahead := p.measured.Sub(p.at); ahead < clockSkewLo-time.Second || ahead > clockSkewHi {
			t.Errorf("clock %v ahead", ahead)
		}
	}
}
