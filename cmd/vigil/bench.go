package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/vigil-rpm/vigil/cmd/vigil/bench"
	"github.com/vigil-rpm/vigil/ingest"
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
The full run takes about 9 minutes on 2 cores and writes a few GB of WAL.
`

// benchShutdownTimeout is how long the bench's Vigil may finish requests in flight when a run ends.
const benchShutdownTimeout = 5 * time.Second

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
	res, err := bench.Run(ctx, bench.Options{Quick: *quick, DatabaseURL: *dbURL, CPUProfile: *profile, PGStats: *pgStats,
		Start: startForBench, Log: newLogger(stderr, "text", slog.LevelWarn), Progress: stderr})
	if err != nil {
		return err
	}
	res.Print(stdout)
	if *out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
	}
	return nil
}

// startForBench is the bench's bench.StartFunc: the app as `vigil demo` wires it, with the bench's
// hospital and device rate limit, serving until the bench stops it.
func startForBench(ctx context.Context, cfg bench.StartConfig) (bench.Vigil, error) {
	a, err := newApp(ctx, appOptions{DatabaseURL: cfg.DatabaseURL, BaseURL: &url.URL{Scheme: "http", Host: cfg.Listener.Addr().String()},
		BuiltinProvider: true, Demo: cfg.Hospital, Log: cfg.Log,
		Intake: ingest.Options{RatePerSecond: float64(cfg.DeviceRate), Burst: cfg.DeviceRate}})
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- a.run(runCtx, cfg.Listener, benchShutdownTimeout) }()
	return benchedApp{app: a, stop: func() { cancel(); <-done }}, nil
}

// benchedApp is the app as the bench sees it.
type benchedApp struct {
	app  *app
	stop func()
}

func (b benchedApp) Subscribers(patientID string) int { return b.app.hub.Subscribers(patientID) }

func (b benchedApp) Stop() { b.stop() }
