package devicesim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

func TestDuplicatesReuseIDs(t *testing.T) {
	t.Parallel()
	f := newFakeVigil(t, nil)
	cfg := fastConfig(f, Device{ID: "bp-1", Token: "tok", Kind: rpm.KindBPCuff})
	cfg.DuplicateRate, cfg.ImplausibleRate = 0.25, 0.3
	stats := runUntil(t, cfg, 2*time.Second, func() bool { return f.count() >= 60 })
	ps := f.snapshot()
	seen, dups := map[string]bool{}, 0
	for i, p := range ps {
		if i > 0 && bytes.Equal(p.body, ps[i-1].body) {
			dups++
			continue
		}
		for _, id := range ids(p.payload) {
			if seen[id] {
				t.Fatalf("id %s reused outside a duplicate resend", id)
			}
			seen[id] = true
		}
	}
	if dups == 0 {
		t.Fatalf("no duplicate resends in %d batches at DuplicateRate 0.25", len(ps))
	}
	s := stats.Snapshot()
	if s.Duplicates == 0 || s.Rejected == 0 || s.Accepted+s.Duplicates+s.Rejected != s.Sent {
		t.Errorf("stats %+v do not add up to Vigil's answers", s)
	}
}

func TestImplausibleRate(t *testing.T) {
	t.Parallel()
	for _, kind := range []rpm.DeviceKind{rpm.KindBedsideMonitor, rpm.KindScale} {
		d := testDevice(t, Config{ImplausibleRate: 0.05}, Device{ID: "imp", Kind: kind})
		const batches = 3000
		bad := 0
		for i := range batches {
			b := d.build(simStart, time.Duration(i)*time.Minute, 0.9)
			var p Payload
			if err := json.Unmarshal(b.body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range p.Readings {
				if !plausible(r) {
					n++
				}
			}
			if n > 1 {
				t.Fatalf("%d implausible values in one batch", n)
			}
			bad += n
		}
		if got := float64(bad) / batches; got < 0.04 || got > 0.06 {
			t.Errorf("%s: %.3f of batches implausible, want about 0.05", kind, got)
		}
	}
}

// testDevice is device 0 of cfg, for calling its parts directly.
func testDevice(t *testing.T, cfg Config, d Device) *device {
	t.Helper()
	cfg.BaseURL, cfg.Devices = "http://vigil.invalid", []Device{d}
	c, err := cfg.resolve()
	if err != nil {
		t.Fatal(err)
	}
	return newDevice(&c, 0, d, simStart)
}

func TestPendingBatchesBounded(t *testing.T) {
	d := testDevice(t, Config{}, Device{ID: "q", Kind: rpm.KindThermometer})
	var built []*batch
	for range maxPending + 50 {
		b := d.build(simStart, 0, 0.5)
		built = append(built, b)
		d.enqueue(b)
		d.setLast(b)
	}
	if len(d.queue) != maxPending || d.queue[0] != built[50] || d.cfg.Stats.Failures.Load() != 50 {
		t.Fatalf("queue holds %d, head is the right batch: %v, failures %d", len(d.queue), d.queue[0] == built[50], d.cfg.Stats.Failures.Load())
	}
	if built[0].body != nil || built[50].body == nil {
		t.Error("a dropped batch's buffer was kept or a queued one released")
	}
	d.releaseAll()
	for _, b := range built {
		if b.body != nil {
			t.Fatal("releaseAll kept a buffer")
		}
	}
}

func TestReadingIDs(t *testing.T) {
	d := testDevice(t, Config{}, Device{ID: "A1B2-c3d4-e5f6", Kind: rpm.KindPulseOximeter})
	if a, b := d.nextID(), d.nextID(); !strings.HasPrefix(a, "a1b2c3d4-") || !strings.HasSuffix(a, "-000001") ||
		!strings.HasSuffix(b, "-000002") || !idPattern.MatchString(a) {
		t.Errorf("ids %q, %q", a, b)
	}
	d.counter = 1234567
	if id := d.nextID(); !strings.HasSuffix(id, "-1234568") || len(id) > 64 {
		t.Errorf("id %q", id)
	}
}

func TestBackoff(t *testing.T) {
	d := testDevice(t, Config{}, Device{ID: "b", Kind: rpm.KindScale})
	for d.attempt = 0; d.attempt < 40; d.attempt++ {
		ceiling := min(maxBackoff, time.Second<<min(d.attempt, 30))
		for range 20 {
			if w := d.backoff(); w < ceiling/2 || w > ceiling {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", d.attempt, w, ceiling/2, ceiling)
			}
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"": -1, "soon": -1, "-3": -1, "0": 0, " 7 ": 7 * time.Second, "99999999999": time.Hour,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ok := Device{ID: "d", Token: "t", Kind: rpm.KindScale}
	for name, cfg := range map[string]Config{
		"no URL":         {Devices: []Device{ok}},
		"no devices":     {BaseURL: "http://x"},
		"twice":          {BaseURL: "http://x", Devices: []Device{ok, ok}},
		"unknown kind":   {BaseURL: "http://x", Devices: []Device{{ID: "d", Kind: "toaster"}}},
		"bad scenario":   {BaseURL: "http://x", Devices: []Device{{ID: "d", Kind: rpm.KindScale, Scenario: "zombie"}}},
		"negative speed": {BaseURL: "http://x", Devices: []Device{ok}, Speed: -1},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRunStopsPromptlyWithoutLeaks(t *testing.T) {
	f := newFakeVigil(t, nil)
	before := runtime.NumGoroutine()
	kinds := slices.Sorted(maps.Keys(kindMetrics))
	var devs []Device
	for i := range 300 {
		kind := kinds[i%len(kinds)]
		devs = append(devs, Device{ID: fmt.Sprintf("dev-%04d", i), Token: "tok", Kind: kind, Scenario: Scenarios[i%len(Scenarios)]})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	stats, err := Run(ctx, fastConfig(f, devs...))
	if err != nil {
		t.Fatal(err)
	}
	if late := time.Since(deadlineOf(ctx)); late > 250*time.Millisecond {
		t.Errorf("Run returned %v after its context ended", late)
	}
	if stats.Snapshot().Batches == 0 {
		t.Errorf("no batch delivered (%+v, server saw %d)", stats.Snapshot(), f.count())
	}
	for i := 0; i < 200 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Run, %d before", n, before)
	}
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}
