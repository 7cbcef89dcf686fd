package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/alerts/watch"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/pgcluster"
)

const demoHelp = `Usage: vigil demo [--addr 127.0.0.1:8080] [--simulate=true]

Runs everything for a first look in one command: uses VIGIL_DATABASE_URL if it is set, otherwise
starts a private, throw-away PostgreSQL from the PostgreSQL binaries on this machine; migrates;
seeds the demo hospital (invented patients, teams and devices); stores 30 days of the simulated
devices' history; serves Vigil; and streams readings from the simulated devices (stable patients,
slow deteriorations, hypoxic and hypotensive episodes, a fever, a device that goes silent, one whose
battery drains, one whose clock runs fast): oximeters and wearables continuously, cuffs, scales,
thermometers and glucometers at the patients' usual times of day. Ctrl-C stops everything and
removes what it started. Seeding and history are idempotent: running the demo again against the
same database duplicates nothing. Times show in VIGIL_TIME_ZONE (default UTC).
`

// demoShutdownTimeout bounds the wait for requests in flight when the demo stops.
const demoShutdownTimeout = 5 * time.Second

// demoOptions are the demo's settings; Ready, if set, is called with the URL once it serves.
type demoOptions struct {
	Addr        string
	DatabaseURL string
	Simulate    bool
	SimInterval time.Duration    // how often each simulated device posts; zero: demoSimInterval
	LiveRecheck time.Duration    // how often live connections re-check access; zero: the default
	Freshness   alerts.Freshness // the NEWS2 freshness policy; zero: the default
	Clock       rpm.Clock        // the hospital's clock; zero: UTC
	Log         *slog.Logger
	Ready       func(url string, a *app)
}

func demoCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to serve on")
	sim := fs.Bool("simulate", true, "stream readings from simulated devices")
	if err := parseFlags(fs, args, demoHelp, stdout, stderr); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv, false)
	if err != nil {
		return err
	}
	format := "text"
	if getenv("VIGIL_LOG_FORMAT") != "" {
		format = cfg.LogFormat
	}
	opts := demoOptions{Addr: *addr, DatabaseURL: cfg.DatabaseURL, Simulate: *sim, Log: newLogger(stderr, format, cfg.LogLevel),
		Freshness: cfg.NEWS2Freshness, Clock: cfg.Clock}
	return runDemo(ctx, opts, stdout)
}

// runDemo runs the demo until ctx ends, then stops the server, the database pool and — if it started
// one — the private PostgreSQL, in that order.
func runDemo(ctx context.Context, opts demoOptions, stdout io.Writer) error {
	databaseURL, where := opts.DatabaseURL, "the database at VIGIL_DATABASE_URL"
	if databaseURL == "" {
		fmt.Fprintln(stdout, "Starting a private PostgreSQL for this demo…")
		cluster, err := pgcluster.Start(ctx, pgcluster.Options{})
		if errors.Is(err, pgcluster.ErrNoBinaries) {
			return fmt.Errorf("%w, or set VIGIL_DATABASE_URL to a PostgreSQL database", err)
		}
		if err != nil {
			return err
		}
		defer cluster.Stop()
		databaseURL, where = cluster.URL("postgres"), "a private PostgreSQL in "+cluster.Dir()+" (removed on exit)"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another Vigil running? try --addr 127.0.0.1:0)", opts.Addr, err)
	}
	defer ln.Close()
	baseURL := "http://" + ln.Addr().String()
	hospital := demo.New()
	if err := prepareDemoDatabase(ctx, databaseURL, baseURL, hospital); err != nil {
		return err
	}
	a, err := newApp(ctx, appOptions{DatabaseURL: databaseURL, BaseURL: &url.URL{Scheme: "http", Host: ln.Addr().String()},
		BuiltinProvider: true, Demo: &hospital, LiveRecheck: opts.LiveRecheck, Log: opts.Log,
		Clock: opts.Clock, Alerts: watch.Options{Freshness: opts.Freshness}})
	if err != nil {
		return err
	}
	if opts.Simulate {
		simCtx, stopSim := context.WithCancel(ctx)
		defer stopSim()
		line, err := startDemoSimulation(simCtx, a.store, baseURL, cmp.Or(opts.SimInterval, demoSimInterval), stdout, opts.Log)
		if err != nil {
			a.store.Close()
			return err
		}
		where += line
	}
	printDemoBanner(stdout, baseURL, where, hospital.Users)
	if opts.Ready != nil {
		opts.Ready(baseURL, a)
	}
	return a.run(ctx, ln, demoShutdownTimeout)
}

// prepareDemoDatabase migrates and seeds the demo hospital h, its users under the built-in
// provider's issuer.
func prepareDemoDatabase(ctx context.Context, databaseURL, baseURL string, h demo.Hospital) error {
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

func printDemoBanner(w io.Writer, baseURL, where string, users []demo.User) {
	fmt.Fprintf(w, "\nVigil demo is running at %s\n", baseURL)
	fmt.Fprintf(w, "Database: %s\n\n", where)
	fmt.Fprintf(w, "Demo users (sign in at %s/signin; every password is %s):\n", baseURL, demo.Password)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, u := range users {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", u.Username, u.Roles[0].Label(), u.Sees)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}
