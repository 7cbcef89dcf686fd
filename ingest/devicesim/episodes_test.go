package devicesim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// TestEpisodesAreWhereTheValuesAre: every episode Episodes lists shows in the patient's values,
// and none shows outside them.
func TestEpisodesAreWhereTheValuesAre(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	p := NewPatient(Device{ID: "d", Kind: rpm.KindPulseOximeter, Scenario: Hypoxic}, start, rand.New(rand.NewPCG(1, 2)))
	list := p.Episodes(0, 48*time.Hour)
	if len(list) < 5 || len(list) > 9 {
		t.Fatalf("%d hypoxic episodes in 48 h, want 6–8 h apart", len(list))
	}
	in := func(t time.Duration) bool {
		for _, e := range list {
			if t >= e[0] && t < e[1] {
				return true
			}
		}
		return false
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for at := time.Duration(0); at < 48*time.Hour; at += time.Minute {
		low := p.Vitals(at, rng).SpO2 < 89
		if low != in(at) {
			t.Fatalf("at %s: SpO₂ low %v, listed episode %v", at, low, in(at))
		}
	}
	if NewPatient(Device{Kind: rpm.KindPulseOximeter}, start, rng).Episodes(0, 48*time.Hour) != nil {
		t.Error("a stable patient has episodes")
	}
}
