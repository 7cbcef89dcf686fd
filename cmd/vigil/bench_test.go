package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-rpm/vigil/cmd/vigil/bench"
	"github.com/vigil-rpm/vigil/store/storetest"
)

// TestBenchQuick runs `vigil bench --quick` end to end on a fresh database, so the suite cannot
// rot: every figure is there and positive, and the table and the JSON agree. It asserts no timing
// — the figures depend on the machine.
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("the quick bench takes about half a minute")
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--quick", "--out", out, "--database-url", storetest.URL(t)}
	if code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res bench.Result
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("%v:\n%s", err, raw)
	}
	want := []string{
		"baseline: raw COPY into readings", "intake, closed loop", "ack latency p50", "ack latency p99",
		"reading → screen p50", "reading → screen p99", "reading → screen max", "alert → screen p50", "alert → screen p99",
		"memory per idle WebSocket", "30-day chart p50", "30-day chart p99",
	}
	got := map[string]bench.Figure{}
	for _, f := range res.Figures {
		got[f.Name] = f
		if !(f.Value > 0) || f.Unit == "" {
			t.Errorf("figure %q = %v %q, want a positive value with a unit", f.Name, f.Value, f.Unit)
		}
		if !strings.Contains(stdout.String(), f.Name) {
			t.Errorf("the table lacks %q", f.Name)
		}
	}
	for _, name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("no figure %q", name)
		}
	}
	if r := got["intake, closed loop"].Ratio; r == nil || !(*r > 0) {
		t.Errorf("intake has no ratio to the baseline: %v", r)
	}
	if len(res.CPU) == 0 {
		t.Error("no CPU report")
	}
	for _, c := range res.CPU {
		if !(c.Wall > 0) || !(c.Vigil > 0) || !(c.LoadGenerators >= 0) {
			t.Errorf("CPU of %q: %+v", c.Phase, c)
		}
	}
	if res.Machine["go"] == "" || res.Machine["postgresql"] == "" || res.Settings["devices"] == "" {
		t.Errorf("machine %v, settings %v", res.Machine, res.Settings)
	}
}
