package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/ingest/devicesim"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

const simulateHelp = `Usage: vigil simulate [--url http://127.0.0.1:8080] (--devices FILE | --provision N) [flags]

Runs simulated devices that post readings to a running Vigil exactly as real devices do: batches at
an interval, realistic values with noise and drift, scenarios (stable, deterioration, hypoxic,
hypotensive, fever, silent, battery_drain, clock_skew), occasional duplicate resends and implausible
values, retries with backoff, and Retry-After on 429.

The devices come from --devices, a JSON file [{"id", "token", "kind", "scenario"}, …], or are made
by --provision N: N new devices written straight into VIGIL_DATABASE_URL (an operator's load-test
tool), each assigned in turn to one of the demo hospital's invented patients — never to a real one —
with scenarios mixed.
--save FILE writes the provisioned devices, tokens included, for a later --devices run.
`

// simulatedDevice is one entry of a --devices file.
type simulatedDevice struct {
	ID       string             `json:"id"`
	Token    string             `json:"token"`
	Kind     rpm.DeviceKind     `json:"kind"`
	Scenario devicesim.Scenario `json:"scenario"`
}

func simulateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "Vigil's base URL")
	file := fs.String("devices", "", "JSON file of devices to simulate")
	provision := fs.Int("provision", 0, "provision this many new devices in VIGIL_DATABASE_URL")
	save := fs.String("save", "", "with --provision: write the devices (with tokens) to this file")
	interval := fs.Duration("interval", 10*time.Second, "how often each device posts")
	speed := fs.Float64("speed", 1, "how many times faster than real time the scenarios unfold")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	if err := parseFlags(fs, args, simulateHelp, stdout, stderr); err != nil {
		return err
	}
	var devices []devicesim.Device
	var err error
	switch {
	case (*file == "") == (*provision == 0):
		fmt.Fprintln(stderr, "give exactly one of --devices FILE and --provision N")
		return errUsage
	case *file != "":
		devices, err = readDevices(*file)
	default:
		devices, err = provisionSimulated(ctx, getenv, *provision, *save)
	}
	if err != nil {
		return err
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	stats := &devicesim.Stats{}
	go reportStats(ctx, stdout, stats)
	fmt.Fprintf(stdout, "simulating %d devices against %s, each posting every %s\n", len(devices), *url, *interval)
	if _, err := devicesim.Run(ctx, devicesim.Config{BaseURL: *url, Devices: devices, Interval: *interval, Speed: *speed,
		Log: log, Stats: stats}); err != nil {
		return err
	}
	printStats(stdout, stats.Snapshot())
	return nil
}

func readDevices(path string) ([]devicesim.Device, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list []simulatedDevice
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("%s is not a JSON list of devices: %w", path, err)
	}
	devices := make([]devicesim.Device, len(list))
	for i, d := range list {
		devices[i] = devicesim.Device{ID: d.ID, Token: d.Token, Kind: d.Kind, Scenario: d.Scenario}
	}
	return devices, nil
}

// simulatedKinds are the kinds provisioned devices cycle through.
var simulatedKinds = []rpm.DeviceKind{rpm.KindBedsideMonitor, rpm.KindPulseOximeter, rpm.KindBPCuff, rpm.KindWearable,
	rpm.KindThermometer, rpm.KindScale, rpm.KindGlucometer}

// provisionSimulated makes n devices in the database, each on an existing patient in turn.
func provisionSimulated(ctx context.Context, getenv func(string) string, n int, save string) ([]devicesim.Device, error) {
	st, err := openDatabase(ctx, getenv, "simulate --provision: the database to provision devices in")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	patients, err := st.DemoPatientIDs(ctx, demo.New())
	if err != nil {
		return nil, err
	}
	if len(patients) == 0 {
		return nil, errors.New("simulated devices go only on the demo hospital's invented patients, and this database has none " +
			"(run vigil demo against it once to seed them)")
	}
	run := time.Now().UTC().Format("20060102T150405")
	devices := make([]devicesim.Device, 0, n)
	saved := make([]simulatedDevice, 0, n)
	for i := range n {
		d, err := provisionOne(ctx, st, run, i, patients[i%len(patients)])
		if err != nil {
			return nil, err
		}
		devices = append(devices, d)
		saved = append(saved, simulatedDevice{ID: d.ID, Token: d.Token, Kind: d.Kind, Scenario: d.Scenario})
	}
	if save != "" {
		b, _ := json.MarshalIndent(saved, "", "  ")
		if err := os.WriteFile(save, b, 0o600); err != nil {
			return nil, err
		}
	}
	return devices, nil
}

func provisionOne(ctx context.Context, st *store.Store, run string, i int, patientID string) (devicesim.Device, error) {
	kind := simulatedKinds[i%len(simulatedKinds)]
	token, hash := auth.NewDeviceToken()
	id, err := st.ProvisionDevice(ctx, rpm.Device{Serial: fmt.Sprintf("SIM-%s-%05d", run, i), Vendor: "Vigil Simulator",
		Model: "Simulated " + string(kind), Kind: kind}, hash)
	if err != nil {
		return devicesim.Device{}, err
	}
	if err := st.AssignDevice(ctx, id, patientID, "", time.Now().Add(-time.Minute)); err != nil {
		return devicesim.Device{}, err
	}
	scenario := devicesim.Scenarios[i%len(devicesim.Scenarios)]
	return devicesim.Device{ID: id, Token: token, Kind: kind, Scenario: scenario}, nil
}

func reportStats(ctx context.Context, w io.Writer, stats *devicesim.Stats) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			printStats(w, stats.Snapshot())
		}
	}
}

func printStats(w io.Writer, s devicesim.StatsSnapshot) {
	fmt.Fprintf(w, "batches %d, readings sent %d: accepted %d, duplicates %d, rejected %d; retries %d, dropped %d\n",
		s.Batches, s.Sent, s.Accepted, s.Duplicates, s.Rejected, s.Retries, s.Failures)
}
