package bench

import (
	"bytes"
	"os"
	"runtime"
	"testing"

	"github.com/google/pprof/profile"
)

// cpuProfile writes a profile shaped like the Go runtime's CPU profiles: samples counted and
// timed, some carrying labels.
func cpuProfile(t *testing.T, samples ...*profile.Sample) []byte {
	t.Helper()
	fn := &profile.Function{ID: 1, Name: "work"}
	loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: fn}}}
	for _, s := range samples {
		s.Location = []*profile.Location{loc}
	}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 10_000_000,
		Sample: samples, Location: []*profile.Location{loc}, Function: []*profile.Function{fn},
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLabelledShare(t *testing.T) {
	raw := cpuProfile(t,
		&profile.Sample{Value: []int64{3, 30_000_000}, Label: map[string][]string{loadLabel: {loadLabelValue}}},
		&profile.Sample{Value: []int64{1, 10_000_000}, Label: map[string][]string{loadLabel: {"other"}}},
		&profile.Sample{Value: []int64{6, 60_000_000}},
	)
	got, err := labelledShare(raw, loadLabel, loadLabelValue)
	if err != nil || got != 0.3 {
		t.Errorf("labelledShare = %v, %v; want 0.3 (30 of 100 ms)", got, err)
	}
	if got, err := labelledShare(cpuProfile(t), loadLabel, loadLabelValue); err != nil || got != 0 {
		t.Errorf("an empty profile: %v, %v; want 0", got, err)
	}
	if _, err := labelledShare([]byte("not a profile"), loadLabel, loadLabelValue); err == nil {
		t.Error("a broken profile was read")
	}
}

// TestProcReadings: what the bench reads of /proc is there on Linux.
func TestProcReadings(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	if kib := residentKiB(); kib <= 0 {
		t.Errorf("resident memory = %d KiB", kib)
	}
	if m := machine(); m["memory"] == "" || m["load_average_at_start"] == "" {
		t.Errorf("machine = %v", m)
	}
	if cpu := postgresCPU(os.Getpid()); cpu < 0 {
		t.Errorf("CPU time of this process = %v", cpu)
	}
}
