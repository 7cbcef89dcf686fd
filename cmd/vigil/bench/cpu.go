package bench

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// The profiler label carried by every load-generator goroutine (and the goroutines they start).
const (
	loadLabel      = "vigil-bench"
	loadLabelValue = "load"
)

// clockTicks is the kernel's USER_HZ, the unit of CPU times in /proc (100 on every Linux port
// that Go supports).
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
		m.pgPID = postmasterPID(b.cluster.Dir())
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

// postmasterPID reads the server's process id from its data directory.
func postmasterPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return -1
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return -1
	}
	return pid
}

// postgresCPU is the CPU time of the server process, its children now running, and the children
// it has reaped.
func postgresCPU(postmaster int) time.Duration {
	var ticks int64
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, ok := procStat(pid)
		if !ok {
			continue
		}
		switch {
		case pid == postmaster:
			ticks += f[11] + f[12] + f[13] + f[14] // utime, stime, cutime, cstime
		case f[1] == int64(postmaster):
			ticks += f[11] + f[12]
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// procStat returns the numeric fields of /proc/pid/stat after the command name, numbered from
// the state field (0): f[1] is the parent's pid, f[11] utime, f[12] stime.
func procStat(pid int) ([]int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 15 {
		return nil, false
	}
	out := make([]int64, 15)
	for k := 1; k < 15; k++ {
		out[k], _ = strconv.ParseInt(fields[k], 10, 64)
	}
	return out, true
}

// labelledShare reads a gzipped pprof CPU profile and returns the share of CPU time in samples
// carrying label key=value. It reads only the fields it needs from the protobuf: samples (2) with
// their values (2) and labels (3), and the string table (6).
func labelledShare(gz []byte, key, value string) (float64, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return 0, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return 0, err
	}
	var samples []profileSample
	var strs []string
	for b := raw; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, errors.New("bad profile")
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			b = b[max(n, 0):]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return 0, errors.New("bad profile")
		}
		b = b[n:]
		switch num {
		case 2:
			samples = append(samples, parseSample(v))
		case 6:
			strs = append(strs, string(v))
		}
	}
	var total, labelled int64
	for _, s := range samples {
		total += s.cpu
		if slices.ContainsFunc(s.labels, func(l profileLabel) bool {
			return int(l.key) < len(strs) && int(l.str) < len(strs) && strs[l.key] == key && strs[l.str] == value
		}) {
			labelled += s.cpu
		}
	}
	if total == 0 {
		return 0, nil
	}
	return float64(labelled) / float64(total), nil
}

// profileSample is what the bench reads of a profile's sample: its CPU time and its labels.
type profileSample struct {
	cpu    int64
	labels []profileLabel
}

// profileLabel is a label as indexes into the profile's string table.
type profileLabel struct{ key, str int64 }

// parseSample reads a Sample message: its last value (CPU nanoseconds) and its string labels.
func parseSample(b []byte) (s profileSample) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		switch {
		case num == 2 && typ == protowire.BytesType: // packed values
			v, n := protowire.ConsumeBytes(b)
			b = b[max(n, 0):]
			for len(v) > 0 {
				x, m := protowire.ConsumeVarint(v)
				if m < 0 {
					break
				}
				s.cpu, v = int64(x), v[m:]
			}
		case num == 2 && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(b)
			s.cpu, b = int64(x), b[max(n, 0):]
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			b = b[max(n, 0):]
			var l profileLabel
			for len(v) > 0 {
				f, t, m := protowire.ConsumeTag(v)
				if m < 0 {
					break
				}
				v = v[m:]
				x, m := protowire.ConsumeVarint(v)
				if t != protowire.VarintType || m < 0 {
					break
				}
				v = v[m:]
				switch f {
				case 1:
					l.key = int64(x)
				case 2:
					l.str = int64(x)
				}
			}
			s.labels = append(s.labels, l)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			b = b[max(n, 0):]
		}
	}
	return s
}

// latencies summarises samples in microseconds as milliseconds.
type latencies struct{ p50, p99, max float64 }

func percentiles(us []int64) latencies {
	slices.Sort(us)
	at := func(q float64) float64 { return float64(us[min(len(us)-1, int(q*float64(len(us))))]) / 1000 }
	return latencies{p50: at(0.50), p99: at(0.99), max: float64(us[len(us)-1]) / 1000}
}
