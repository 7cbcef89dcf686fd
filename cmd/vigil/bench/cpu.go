package bench

import (
	"bytes"
	"errors"
	"os"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
	"github.com/prometheus/procfs"
)

// The profiler label carried by every load-generator goroutine (and the goroutines they start).
const (
	loadLabel      = "vigil-bench"
	loadLabelValue = "load"
)

// clockTicks is the kernel's USER_HZ, the unit of CPU times in /proc/PID/stat (100 on every Linux
// port that Go supports; procfs assumes the same).
const clockTicks = 100

// CPUShare is the CPU used during one phase, in cores busy on average (CPU seconds ÷ wall
// seconds). The bench process's CPU time (getrusage) is split between Vigil and the load
// generators by the share of CPU-profile samples carrying the load generators' label; PostgreSQL's
// is summed from /proc over the server's processes (-1 when the database is not ours).
type CPUShare struct {
	Phase          string  `json:"phase"`
	Wall           float64 `json:"wall_seconds"`
	Vigil          float64 `json:"vigil_cores"`
	LoadGenerators float64 `json:"load_generator_cores"`
	PostgreSQL     float64 `json:"postgresql_cores"`
}

// cpuMeter measures one phase.
type cpuMeter struct {
	phase    string
	save     string
	started  time.Time
	process  time.Duration
	pg       time.Duration
	pgPID    int
	profile  bytes.Buffer
	profiled bool
}

// startCPU starts measuring a phase; save, if set, is where its CPU profile is written too.
func (b *benchRun) startCPU(phase, save string) (*cpuMeter, error) {
	m := &cpuMeter{phase: phase, save: save, started: time.Now(), process: processCPU(), pgPID: -1}
	if b.cluster != nil {
		m.pgPID = b.cluster.ServerPID()
		m.pg = postgresCPU(m.pgPID)
	}
	m.profiled = pprof.StartCPUProfile(&m.profile) == nil
	return m, nil
}

func (m *cpuMeter) stop() CPUShare {
	if m.profiled {
		pprof.StopCPUProfile()
	}
	wall := time.Since(m.started)
	used := processCPU() - m.process
	share := CPUShare{Phase: m.phase, Wall: wall.Seconds(), PostgreSQL: -1}
	load := 0.0
	if m.profiled {
		load, _ = labelledShare(m.profile.Bytes(), loadLabel, loadLabelValue)
		if m.save != "" {
			_ = os.WriteFile(m.save, m.profile.Bytes(), 0o644)
		}
	}
	share.LoadGenerators = used.Seconds() * load / wall.Seconds()
	share.Vigil = used.Seconds() * (1 - load) / wall.Seconds()
	if m.pgPID > 0 {
		share.PostgreSQL = (postgresCPU(m.pgPID) - m.pg).Seconds() / wall.Seconds()
	}
	return share
}

// processCPU is this process's CPU time so far (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU is the CPU time of the server process, its children now running, and the children
// it has reaped.
func postgresCPU(postmaster int) time.Duration {
	procs, err := procfs.AllProcs()
	if err != nil {
		return 0
	}
	var ticks int64
	for _, p := range procs {
		st, err := p.Stat()
		if err != nil {
			continue // ended meanwhile
		}
		switch {
		case p.PID == postmaster:
			ticks += int64(st.UTime) + int64(st.STime) + int64(st.CUTime) + int64(st.CSTime)
		case st.PPID == postmaster:
			ticks += int64(st.UTime) + int64(st.STime)
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// labelledShare reads a pprof CPU profile and returns the share of CPU time in samples carrying
// label key=value.
func labelledShare(raw []byte, key, value string) (float64, error) {
	p, err := profile.Parse(bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	cpu := slices.IndexFunc(p.SampleType, func(t *profile.ValueType) bool { return t.Type == "cpu" })
	if cpu < 0 {
		return 0, errors.New("the profile has no CPU time")
	}
	var total, labelled int64
	for _, s := range p.Sample {
		total += s.Value[cpu]
		if slices.Contains(s.Label[key], value) {
			labelled += s.Value[cpu]
		}
	}
	if total == 0 {
		return 0, nil
	}
	return float64(labelled) / float64(total), nil
}

// latencies summarises samples in microseconds as milliseconds.
type latencies struct{ p50, p99, max float64 }

func percentiles(us []int64) latencies {
	slices.Sort(us)
	at := func(q float64) float64 { return float64(us[min(len(us)-1, int(q*float64(len(us))))]) / 1000 }
	return latencies{p50: at(0.50), p99: at(0.99), max: float64(us[len(us)-1]) / 1000}
}
