package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/ingest"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/pgcluster"
)

const benchHelp = `Usage: vigil bench [--quick] [--out results.json] [--database-url URL]

Measures this machine's limits with Vigil's real wiring: starts a private PostgreSQL with durable
settings (fsync and synchronous_commit on) unless --database-url (or VIGIL_DATABASE_URL) names an
empty database to use, starts Vigil on a local port, provisions devices and signs dashboards in
through the real APIs and the built-in OpenID provider, then measures: the raw COPY baseline,
intake throughput, acknowledgement latency, reading → screen and alert → screen latency with
dashboards connected, memory per idle WebSocket, and the 30-day chart. It prints a table and, with
--out, writes it as JSON. The load generators run in this process; the CPU they use is reported
apart from Vigil's and PostgreSQL's. --quick is a reduced run (under a minute).
The full run takes about 5 minutes and writes a few GB of WAL.
`

// benchSize is how big a run is.
type benchSize struct {
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
	fullBench = benchSize{Devices: 10000, TeamSize: 50, Dashboards: 1000, IdleConns: 10000, BaselineRows: 1_000_000,
		Warmup: 5 * time.Second, Closed: 20 * time.Second, Open: 15 * time.Second, Live: 20 * time.Second, Alerts: 50,
		ChartInterval: time.Second, Charts: 200}
	quickBench = benchSize{Devices: 400, TeamSize: 50, Dashboards: 40, IdleConns: 500, BaselineRows: 100_000,
		Warmup: time.Second, Closed: 4 * time.Second, Open: 3 * time.Second, Live: 3 * time.Second, Alerts: 5,
		ChartInterval: 30 * time.Second, Charts: 20}
)

// benchDeviceRate is the per-device request limit the bench's Vigil runs with: a closed loop
// posts as fast as answers come, far above a real device's pace (VIGIL_DEVICE_RATE_LIMIT).
const benchDeviceRate = 1000

// benchOptions are one run's settings.
type benchOptions struct {
	Size        benchSize
	Quick       bool
	DatabaseURL string
	CPUProfile  string // where to write a CPU profile of the intake phase, if set
	PGStats     bool   // load pg_stat_statements and print the top statements at the end
	Log         *slog.Logger
	Progress    io.Writer
}

func benchCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "a reduced run, under a minute")
	out := fs.String("out", "", "write the results as JSON to this file")
	dbURL := fs.String("database-url", getenv("VIGIL_DATABASE_URL"), "an empty PostgreSQL database to use instead of a private one")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the closed-loop intake phase to this file")
	pgStats := fs.Bool("pg-stat-statements", false, "private PostgreSQL only: print the statements that took the most time")
	if err := parseFlags(fs, args, benchHelp, stdout, stderr); err != nil {
		return err
	}
	opts := benchOptions{Size: fullBench, Quick: *quick, DatabaseURL: *dbURL, CPUProfile: *profile, PGStats: *pgStats,
		Log: newLogger(stderr, "text", slog.LevelWarn), Progress: stderr}
	if *quick {
		opts.Size = quickBench
	}
	res, err := bench(ctx, opts)
	if err != nil {
		return err
	}
	res.print(stdout)
	if *out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
	}
	return nil
}

// benchResult is what a run reports (also its JSON form).
type benchResult struct {
	Started  time.Time         `json:"started"`
	Quick    bool              `json:"quick"`
	Machine  map[string]string `json:"machine"`
	Settings map[string]string `json:"settings"`
	Figures  []figure          `json:"figures"`
	CPU      []cpuShare        `json:"cpu"`
	Notes    []string          `json:"notes"`
}

// figure is one row of the table. Goal is in words ("≥ 50000"); Ratio is set where the figure has
// a baseline measured in the same run.
type figure struct {
	Name  string   `json:"name"`
	Unit  string   `json:"unit"`
	Value float64  `json:"value"`
	Goal  string   `json:"goal,omitempty"`
	Ratio *float64 `json:"ratio,omitempty"`
}

func (r *benchResult) add(name, unit string, value float64, goal string) {
	r.Figures = append(r.Figures, figure{Name: name, Unit: unit, Value: value, Goal: goal})
}

func (r *benchResult) print(w io.Writer) {
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

// bench runs every measurement and returns the results.
func bench(ctx context.Context, opts benchOptions) (*benchResult, error) {
	res := &benchResult{Started: time.Now().UTC(), Quick: opts.Quick, Machine: machine(), Settings: map[string]string{}}
	// Both ends of the device connections are in this process; of the idle dashboards, the server's.
	if need := max(2*min(opts.Size.Devices, maxLoadConns), opts.Size.IdleConns+2*opts.Size.Dashboards) + 4096; !raiseFileLimit(need) {
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
	b, err := startBench(ctx, opts, databaseURL, cluster)
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
	if err := b.run(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (o benchOptions) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "bench: "+format+"\n", args...)
	}
}

// run measures, in order, each figure of issue 7.
func (b *benchRun) run(ctx context.Context, res *benchResult) error {
	steps := []struct {
		what string
		fn   func(context.Context, *benchResult) error
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
func (b *benchRun) describe(ctx context.Context, res *benchResult) {
	if v, err := b.store.ServerVersion(ctx); err == nil {
		res.Machine["postgresql"] = v
	}
	if s, err := b.store.ServerSettings(ctx, []string{"fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "wal_level", "max_wal_size"}); err == nil {
		for k, v := range s {
			res.Settings["postgresql."+k] = v
		}
	}
	sz := b.opts.Size
	res.Settings["devices"] = fmt.Sprint(sz.Devices)
	res.Settings["readings_per_request"] = fmt.Sprint(readingsPerRequest)
	res.Settings["dashboards"] = fmt.Sprint(sz.Dashboards)
	res.Settings["patients_per_dashboard"] = fmt.Sprint(sz.TeamSize)
	res.Settings["idle_connections"] = fmt.Sprint(sz.IdleConns)
	res.Settings["device_rate_limit_per_s"] = fmt.Sprint(benchDeviceRate)
	res.Settings["chart_reading_interval"] = sz.ChartInterval.String()
}

// machine describes the computer the bench runs on.
func machine() map[string]string {
	m := map[string]string{"go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH, "cpus": fmt.Sprint(runtime.NumCPU())}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if _, v, ok := strings.Cut(line, ":"); ok {
			m["memory"] = strings.TrimSpace(v)
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m["load_average_at_start"] = strings.TrimSpace(string(b))
	}
	return m
}

// benchRun is Vigil started for a run, with what was provisioned.
type benchRun struct {
	opts     benchOptions
	app      *app
	store    *store.Store
	base     string
	addr     string
	cluster  *pgcluster.Cluster
	stopApp  func()
	hospital benchHospital

	patientIDs []string // bench patients, by index
	clinicians map[string]*benchClient
	devices    []*benchDevice // intake devices, device i on patient i
	glucometer *benchDevice   // on patient 0, for the alert figure

	baselineRate float64 // rows/s, once measured
	max          float64 // closed-loop readings/s, once measured
}

// startBench seeds the bench hospital, starts Vigil on a local port and provisions through the
// APIs.
func startBench(ctx context.Context, opts benchOptions, databaseURL string, cluster *pgcluster.Cluster) (*benchRun, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	h := newBenchHospital(opts.Size)
	opts.progress("migrating and seeding %d patients in %d care teams", len(h.Patients)-len(demo.New().Patients), len(h.teams))
	if err := prepareBenchDatabase(ctx, databaseURL, base, h.Hospital); err != nil {
		ln.Close()
		return nil, err
	}
	a, err := newApp(ctx, appOptions{DatabaseURL: databaseURL, BaseURL: &url.URL{Scheme: "http", Host: ln.Addr().String()},
		BuiltinProvider: true, Demo: &h.Hospital, Log: opts.Log,
		Intake: ingest.Options{RatePerSecond: benchDeviceRate, Burst: benchDeviceRate}})
	if err != nil {
		ln.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- a.run(runCtx, ln, 5*time.Second) }()
	b := &benchRun{opts: opts, app: a, store: a.store, base: base, addr: ln.Addr().String(), cluster: cluster, hospital: h,
		stopApp: func() { cancel(); <-done }}
	if err := b.provision(ctx); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

func (b *benchRun) stop() { b.stopApp() }

// prepareBenchDatabase migrates and seeds the bench hospital.
func prepareBenchDatabase(ctx context.Context, databaseURL, baseURL string, h demo.Hospital) error {
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	return st.SeedDemo(ctx, h, baseURL+"/oidc", time.Now())
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
