package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/ingest/devicesim"
	"github.com/vigil-rpm/vigil/store"
)

// demoScenarios gives some demo patients a story; the others are stable.
var demoScenarios = map[string]devicesim.Scenario{
	"H1000002": devicesim.Deterioration, // NEWS2 rising over hours
	"H1000003": devicesim.Hypotensive,
	"H1000004": devicesim.Silent,
	"H1000006": devicesim.Fever,
	"H1000007": devicesim.BatteryDrain,
	"H1000101": devicesim.Hypoxic,
	"H1000102": devicesim.Deterioration,
	"H1000103": devicesim.ClockSkew,
}

// demoHead starts some stories well under way, so the demo shows them within minutes: one
// deterioration at a medium NEWS2, one at high.
var demoHead = map[string]time.Duration{
	"H1000002": 5 * time.Hour,
	"H1000102": 7 * time.Hour,
}

// demoSilentAfter is how long the demo's silent device sends before it stops, for good.
const demoSilentAfter = 2 * time.Minute

// demoSimInterval is how often each demo device posts.
const demoSimInterval = 10 * time.Second

// demoDevices gives every demo device a fresh token (the old ones stop working) and returns them
// ready for the simulator.
func demoDevices(ctx context.Context, st *store.Store) ([]devicesim.Device, error) {
	list, err := st.DemoDevices(ctx)
	if err != nil {
		return nil, err
	}
	devices := make([]devicesim.Device, 0, len(list))
	for _, d := range list {
		token, hash := auth.NewDeviceToken()
		if err := st.RotateDeviceToken(ctx, d.DeviceID, hash); err != nil {
			return nil, err
		}
		scenario, ok := demoScenarios[d.MRN]
		if !ok {
			scenario = devicesim.Stable
		}
		devices = append(devices, devicesim.Device{ID: d.DeviceID, Token: token, Kind: d.Kind, Scenario: scenario, Firmware: "2.4.1",
			Head: demoHead[d.MRN]})
	}
	return devices, nil
}

// simulate runs the demo's devices against Vigil at baseURL until ctx ends.
func simulate(ctx context.Context, baseURL string, devices []devicesim.Device, interval time.Duration, log *slog.Logger) {
	if _, err := devicesim.Run(ctx, devicesim.Config{BaseURL: baseURL, Devices: devices, Interval: interval, SilentAfter: demoSilentAfter, Log: log}); err != nil {
		log.Error("the device simulator could not start", slog.Any("err", err))
	}
}
