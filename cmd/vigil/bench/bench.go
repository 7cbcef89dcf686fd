// Package bench is `vigil bench`: it measures this machine's limits with Vigil's real wiring. It
// starts a private PostgreSQL with durable settings (or uses an empty database it is given), has
// the command's own wiring start Vigil on a local port (Options.Start), provisions devices and
// signs dashboards in through the real APIs and the built-in OpenID provider, then measures the
// raw COPY baseline, intake throughput, acknowledgement latency, reading → screen and alert →
// screen latency with dashboards connected, memory per idle WebSocket and the 30-day chart, with
// the CPU each phase used. Run returns the figures; the command prints them.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/procfs"

	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/pgcluster"
)

// size is how big a run is.
type size struct {
	Devices       int           // intake devices, one patient each
	TeamSize      int           // patients per care team = census of one dashboard
	Dashboards    int           // dashboards connected while measuring reading → screen
	IdleConns     int           // idle WebSockets for the memory figure
	BaselineRows  int           // rows copied for the baseline
	Warmup        time.Duration // closed loop before measuring
	Closed        time.Duration // closed-loop measurement
	Open          time.Duration // open-loop measurement (ack latency)
	Live          time.Duration // reading → screen measurement
	Alerts        int           // alert → screen samples
	ChartInterval time.Duration // spacing of the chart's backfilled readings
	Charts        int           // chart requests timed
}

var (
	fullSize = size{Devices: 10000, TeamSize: 50, Dashboards: 1000, IdleConns: 10000, BaselineRows: 1_000_000,
		Warmup: 5 * time.Second, Closed: 20 * time.Second, Open: 15 * time.Second, Live: 20 * time.Second, Alerts: 50,
		ChartInterval: time.Second, Charts: 200}
	quickSize = size{Devices: 400, TeamSize: 50, Dashboards: 40, IdleConns: 500, BaselineRows: 100_000,
		Warmup: time.Second, Closed: 4 * time.Second, Open: 3 * time.Second, Live: 3 * time.Second, Alerts: 5,
		ChartInterval: 30 * time.Second, Charts: 20}
)

// deviceRate is the per-device request limit the bench's Vigil runs with: a closed loop posts as
// fast as answers come, far above a real device's pace (VIGIL_DEVICE_RATE_LIMIT).
const deviceRate = 1000

// Options are one run's settings. Start is required.
type Options struct {
	Quick       bool   // a reduced run, under a minute; else the full run, about 9 minutes on 2 cores
	DatabaseURL string // an empty database to use; if empty, a private PostgreSQL is started
	CPUProfile  string // where to write a CPU profile of the intake phase, if set
	PGStats     bool   // private PostgreSQL only: load pg_stat_statements and print the top statements at the end
	Start       StartFunc
	Log         *slog.Logger // Vigil's log
	Progress    io.Writer    // where progress is reported, if set
}

// StartFunc starts Vigil as the command wires it and returns it serving: on cfg.Listener, on the
// database at cfg.DatabaseURL (already migrated and seeded with cfg.Hospital), signing the
// hospital's users in through the built-in OpenID provider, each device limited to
// cfg.DeviceRate requests a second (and as many at once).
type StartFunc func(ctx context.Context, cfg StartConfig) (Vigil, error)

// StartConfig is what a StartFunc starts Vigil with.
type StartConfig struct {
	DatabaseURL string
	Listener    net.Listener // Vigil serves plain HTTP here; its address makes the base URL
	Hospital    *demo.Hospital
	DeviceRate  int
	Log         *slog.Logger
}

// Vigil is Vigil serving for a run.
type Vigil interface {
	// Subscribers is how many live subscriptions hold a patient.
	Subscribers(patientID string) int
	// Stop shuts Vigil down and returns when it has.
	Stop()
}

// Result is what a run reports (also its JSON form).
type Result struct {
	Started  time.Time         `json:"started"`
	Quick    bool              `json:"quick"`
	Machine  map[string]string `json:"machine"`
	Settings map[string]string `json:"settings"`
	Figures  []Figure          `json:"figures"`
	CPU      []CPUShare        `json:"cpu"`
	Notes    []string          `json:"notes"`
}

// Figure is one row of the table. Goal is in words ("≥ 50000"); Ratio is set where the figure has
// a baseline measured in the same run.
type Figure struct {
	Name  string   `json:"name"`
	Unit  string   `json:"unit"`
	Value float64  `json:"value"`
	Goal  string   `json:"goal,omitempty"`
	Ratio *float64 `json:"ratio,omitempty"`
}

func (r *Result) add(name, unit string, value float64, goal string) {
	r.Figures = append(r.Figures, Figure{Name: name, Unit: unit, Value: value, Goal: goal})
}

// Print writes the result as tables: the figures, then the CPU by phase, then the notes.
func (r *Result) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "figure\tunit\tvalue\tgoal\tratio\t")
	for _, f := range r.Figures {
		ratio := ""
		if f.Ratio != nil {
			ratio = fmt.Sprintf("%.3f", *f.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", f.Name, f.Unit, formatValue(f.Value), f.Goal, ratio)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nCPU by phase (cores busy on average; load generators run in the bench process):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\twall s\tvigil\tload generators\tpostgresql\t")
	for _, c := range r.CPU {
		pg := "n/a"
		if c.PostgreSQL >= 0 {
			pg = fmt.Sprintf("%.2f", c.PostgreSQL)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%.2f\t%s\t\n", c.Phase, c.Wall, c.Vigil, c.LoadGenerators, pg)
	}
	tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintln(w, "- "+n)
	}
}

func formatValue(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// Run runs every measurement, in this process and against the database given or a private one,
// and returns the results. It fails if opts.Start is not set, if the machine cannot open the files
// the run needs, or if any measurement fails; ctx ending stops it.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Start == nil {
		return nil, errors.New("bench: no way to start Vigil (Options.Start)")
	}
	sz := fullSize
	if opts.Quick {
		sz = quickSize
	}
	res := &Result{Started: time.Now().UTC(), Quick: opts.Quick, Machine: machine(), Settings: map[string]string{}}
	// Both ends of the device connections are in this process; of the idle dashboards, the server's.
	if need := max(2*min(sz.Devices, maxLoadConns), sz.IdleConns+2*sz.Dashboards) + 4096; !raiseFileLimit(need) {
		return nil, fmt.Errorf("this run needs %d open files; raise the limit (ulimit -n) or use --quick", need)
	}
	databaseURL := opts.DatabaseURL
	var cluster *pgcluster.Cluster
	if databaseURL == "" {
		opts.progress("starting a private PostgreSQL with durable settings (fsync, synchronous_commit on)")
		settings := map[string]string{"shared_buffers": "512MB", "max_wal_size": "4GB", "checkpoint_timeout": "15min"}
		if opts.PGStats {
			settings["shared_preload_libraries"] = "pg_stat_statements"
		}
		c, err := pgcluster.Start(ctx, pgcluster.Options{Durable: true, Settings: settings})
		if errors.Is(err, pgcluster.ErrNoBinaries) {
			return nil, fmt.Errorf("%w, or give --database-url", err)
		}
		if err != nil {
			return nil, err
		}
		defer c.Stop()
		cluster, databaseURL = c, c.URL("postgres")
	}
	b, err := startBench(ctx, opts, sz, databaseURL, cluster)
	if err != nil {
		return nil, err
	}
	defer b.stop()
	b.describe(ctx, res)
	if cluster != nil && opts.PGStats {
		if err := b.store.EnableStatementStats(ctx); err != nil {
			return nil, err
		}
		defer b.printStatements(ctx)
	}
	if err := b.measure(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "bench: "+format+"\n", args...)
	}
}

// measure measures, in order, each figure of issue 7.
func (b *benchRun) measure(ctx context.Context, res *Result) error {
	steps := []struct {
		what string
		fn   func(context.Context, *Result) error
	}{
		{"baseline: raw COPY into readings", b.baseline},
		{"intake: closed loop", b.closedLoop},
		{"intake: open loop at half the maximum", b.openLoop},
		{"live: reading → screen and alert → screen", b.liveLatency},
		{"connections: idle WebSockets", b.idleConnections},
		{"charts: 30 days", b.charts},
	}
	for _, s := range steps {
		b.opts.progress("%s", s.what)
		if err := s.fn(ctx, res); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// describe records the machine and the database's settings.
func (b *benchRun) describe(ctx context.Context, res *Result) {
	if v, err := b.store.ServerVersion(ctx); err == nil {
		res.Machine["postgresql"] = v
	}
	if s, err := b.store.ServerSettings(ctx, []string{"fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "wal_level", "max_wal_size"}); err == nil {
		for k, v := range s {
			res.Settings["postgresql."+k] = v
		}
	}
	sz := b.size
	res.Settings["devices"] = fmt.Sprint(sz.Devices)
	res.Settings["readings_per_request"] = fmt.Sprint(readingsPerRequest)
	res.Settings["dashboards"] = fmt.Sprint(sz.Dashboards)
	res.Settings["patients_per_dashboard"] = fmt.Sprint(sz.TeamSize)
	res.Settings["idle_connections"] = fmt.Sprint(sz.IdleConns)
	res.Settings["device_rate_limit_per_s"] = fmt.Sprint(deviceRate)
	res.Settings["chart_reading_interval"] = sz.ChartInterval.String()
}

// machine describes the computer the bench runs on.
func machine() map[string]string {
	m := map[string]string{"go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH, "cpus": fmt.Sprint(runtime.NumCPU())}
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return m
	}
	if cpus, err := fs.CPUInfo(); err == nil && len(cpus) > 0 && cpus[0].ModelName != "" {
		m["cpu"] = cpus[0].ModelName
	}
	if mem, err := fs.Meminfo(); err == nil && mem.MemTotal != nil {
		m["memory"] = fmt.Sprintf("%d kB", *mem.MemTotal)
	}
	if load, err := fs.LoadAvg(); err == nil {
		m["load_average_at_start"] = fmt.Sprintf("%.2f %.2f %.2f", load.Load1, load.Load5, load.Load15)
	}
	return m
}

// benchRun is Vigil started for a run, with what was provisioned.
type benchRun struct {
	opts     Options
	size     size
	vigil    Vigil
	store    *store.Store // the bench's own connections, for what it reads and writes directly
	base     string
	addr     string
	cluster  *pgcluster.Cluster
	hospital benchHospital

	patientIDs []string // bench patients, by index
	clinicians map[string]*benchClient
	devices    []*benchDevice // intake devices, device i on patient i
	glucometer *benchDevice   // on patient 0, for the alert figure

	baselineRate float64 // rows/s, once measured
	max          float64 // closed-loop readings/s, once measured
}

// startBench seeds the bench hospital, has opts.Start start Vigil on a local port and provisions
// through the APIs.
func startBench(ctx context.Context, opts Options, sz size, databaseURL string, cluster *pgcluster.Cluster) (*benchRun, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	h := newBenchHospital(sz)
	opts.progress("migrating and seeding %d patients in %d care teams", h.patients+1, len(h.teams))
	st, err := prepareBenchDatabase(ctx, databaseURL, base, h.Hospital)
	if err != nil {
		ln.Close()
		return nil, err
	}
	v, err := opts.Start(ctx, StartConfig{DatabaseURL: databaseURL, Listener: ln, Hospital: &h.Hospital, DeviceRate: deviceRate, Log: opts.Log})
	if err != nil {
		ln.Close()
		st.Close()
		return nil, err
	}
	b := &benchRun{opts: opts, size: sz, vigil: v, store: st, base: base, addr: ln.Addr().String(), cluster: cluster, hospital: h}
	if err := b.provision(ctx); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

func (b *benchRun) stop() {
	b.vigil.Stop()
	b.store.Close()
}

// prepareBenchDatabase migrates and seeds the bench hospital, and returns the store the bench
// reads and writes through.
func prepareBenchDatabase(ctx context.Context, databaseURL, baseURL string, h demo.Hospital) (*store.Store, error) {
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.SeedDemo(ctx, h, baseURL+"/oidc", time.Now()); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// printStatements prints the statements that took the most time, for profiling.
func (b *benchRun) printStatements(ctx context.Context) {
	list, err := b.store.TopStatements(ctx, 20)
	if err != nil {
		b.opts.progress("%v", err)
		return
	}
	for _, s := range list {
		b.opts.progress("%9.0f ms %8d calls %7.2f ms/call %9d rows  %s", s.TotalMillis, s.Calls, s.MeanMillis, s.Rows, s.Query)
	}
}

// raiseFileLimit makes sure this process may open n files, raising its limits if need be (the
// hard limit only as root). It reports whether the process may.
func raiseFileLimit(n int) bool {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return false
	}
	if lim.Cur >= uint64(n) {
		return true
	}
	lim.Cur = uint64(n)
	lim.Max = max(lim.Max, uint64(n))
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) == nil
}
