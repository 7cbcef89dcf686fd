package main

import (
	"slices"
	"testing"

	"github.com/vigil-rpm/vigil/ingest/devicesim"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// TestDemoPatientsHaveEveryNEWS2Parameter: every demo patient's devices, as the simulator runs
// them, measure the five NEWS2 parameters a device can, so no demo NEWS2 is partial for want of a
// device.
func TestDemoPatientsHaveEveryNEWS2Parameter(t *testing.T) {
	news2 := []string{rpm.CodeRespRate, rpm.CodeSpO2, rpm.CodeSystolicBP, rpm.CodeHeartRate, rpm.CodeBodyTemp}
	for _, p := range store.Demo.Patients {
		var measured []string
		for _, d := range p.Devices {
			measured = append(measured, devicesim.KindMetrics(d.Kind)...)
		}
		for _, code := range news2 {
			if !slices.Contains(measured, code) {
				t.Errorf("demo patient %s has no device measuring %s", p.MRN, code)
			}
		}
	}
}
