package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
	_ "time/tzdata" // the demo patients' time zone, also on a machine without a zoneinfo database

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/ingest/devicesim"
	"github.com/vigil-rpm/vigil/store"
)

// demoSilentAfter is how long the demo's silent device sends before it stops, for good.
const demoSilentAfter = 2 * time.Minute

// demoSimInterval is how often each continuous demo device posts.
const demoSimInterval = 10 * time.Second

// startDemoSimulation stores the demo devices' history, then starts them posting until ctx ends.
// It reports on the history to w and returns a line for the banner.
func startDemoSimulation(ctx context.Context, st *store.Store, baseURL string, interval time.Duration, w io.Writer, log *slog.Logger) (string, error) {
	devices, patients, err := demoDevices(ctx, st)
	if err != nil {
		return "", err
	}
	cfg := devicesim.Config{BaseURL: baseURL, Devices: devices, Interval: interval, SilentAfter: demoSilentAfter,
		Log: log, Start: time.Now()}
	began := time.Now()
	n, err := backfillDemo(ctx, st, cfg, patients)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "Backfilled %d days: %d readings in %.1f s\n", int(demo.History/(24*time.Hour)), n, time.Since(began).Seconds())
	go simulate(ctx, cfg)
	continuous := 0
	for _, d := range devices {
		if d.Schedule.Continuous() {
			continuous++
		}
	}
	return fmt.Sprintf("\nSimulated devices: %d continuous, posting every %s; %d spot-check, at the patients' usual times of day",
		continuous, interval, len(devices)-continuous), nil
}

// demoDevices gives every demo device a fresh token (the old ones stop working) and returns them
// ready for the simulator, each with its patient's story and, for a spot-check device, the times
// of the patient's day it is used; and, in the same order, each one's patient (MRN).
func demoDevices(ctx context.Context, st *store.Store) ([]devicesim.Device, []string, error) {
	list, err := st.DemoDevices(ctx)
	if err != nil {
		return nil, nil, err
	}
	devices, patients := make([]devicesim.Device, 0, len(list)), make([]string, 0, len(list))
	for _, d := range list {
		loc, err := time.LoadLocation(d.TimeZone)
		if err != nil {
			return nil, nil, fmt.Errorf("a demo patient's time zone: %w", err)
		}
		token, hash := auth.NewDeviceToken()
		if err := st.RotateDeviceToken(ctx, d.DeviceID, hash); err != nil {
			return nil, nil, err
		}
		story := devicesim.DemoStory(d.MRN)
		devices = append(devices, devicesim.Device{ID: d.DeviceID, Token: token, Kind: d.Kind, Scenario: story.Scenario, Firmware: "2.4.1",
			Head: story.Head, Schedule: devicesim.UsualSchedule(d.Kind), Location: loc})
		patients = append(patients, d.MRN)
	}
	return devices, patients, nil
}

// simulate runs the demo's devices against Vigil until ctx ends.
func simulate(ctx context.Context, cfg devicesim.Config) {
	if _, err := devicesim.Run(ctx, cfg); err != nil {
		cfg.Log.Error("the device simulator could not start", slog.Any("err", err))
	}
}
