package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

func TestEmptyTierWarnings(t *testing.T) {
	m := func(tiers ...rpm.Tier) []MemberAdmin {
		var out []MemberAdmin
		for _, t := range tiers {
			out = append(out, MemberAdmin{Tier: t})
		}
		return out
	}
	for _, tc := range []struct {
		members []MemberAdmin
		want    string
	}{
		{m(1, 2, 3), ""},
		{m(1, 3), "No one at tier 2: alerts not acknowledged within 5 min go straight to tier 3."},
		{m(1), "No one at tiers 2 and 3"},
		{m(1, 2), "No one at tier 3"},
		{m(2, 3), "No one at tier 1"},
		{nil, "No one is on this team"},
	} {
		if got := emptyTierWarning(tc.members, "5 min"); tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.members, got, tc.want)
		}
	}
}

// TestNEWS2BadgeNeverReassuresFalsely: no readings says "no data", two or more missing parameters
// grey out a low score as "incomplete", and a complete low score is green.
func TestNEWS2BadgeNeverReassuresFalsely(t *testing.T) {
	for _, tc := range []struct {
		n    NEWS2View
		want []string
		not  string
	}{
		{NEWS2View{NoData: true, Partial: true, Incomplete: true, Band: "low"}, []string{"band-none", "no data"}, "band-low"},
		{NEWS2View{Score: 1, Band: "low", Partial: true, Incomplete: true, Missing: []string{"Respiration rate", "Temperature"}},
			[]string{"band-incomplete", "1 · incomplete", `missing: <abbr title="Respiration rate, Temperature">RR, Temp</abbr>`}, "band-low"},
		{NEWS2View{Score: 6, Band: "medium", Partial: true, Incomplete: true, Missing: []string{"Temperature", "Pulse"}},
			[]string{"band-medium", "6 · medium", "partial"}, "incomplete"},
		{NEWS2View{Score: 0, Band: "low"}, []string{"band-low", "0 · low"}, "partial"},
	} {
		html := renderString(t, context.Background(), NEWS2Badge(tc.n))
		for _, w := range tc.want {
			if !strings.Contains(html, w) {
				t.Errorf("%+v: %s lacks %q", tc.n, html, w)
			}
		}
		if strings.Contains(html, tc.not) {
			t.Errorf("%+v: %s has %q", tc.n, html, tc.not)
		}
	}
}

// TestDeviceBadgeSaysSilent: a device quiet past its silence makes the badge say how many of the
// patient's devices are silent, never "reporting".
func TestDeviceBadgeSaysSilent(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	devices := []DeviceBadge{
		{ID: "a", LastReading: now.Add(-10 * time.Second), SilentAfter: time.Minute},
		{ID: "b", LastReading: now.Add(-16 * time.Minute), SilentAfter: time.Minute},
		{ID: "c", LastReading: now.Add(-2 * time.Hour), SilentAfter: 72 * time.Hour},
	}
	html := renderString(t, context.Background(), deviceState(devices, now))
	if !strings.Contains(html, "1 of 3 silent") || strings.Contains(html, "reporting") {
		t.Errorf("badge %s", html)
	}
	if html := renderString(t, context.Background(), deviceState(devices[:1], now)); !strings.Contains(html, "1 reporting") {
		t.Errorf("badge of a reporting device %s", html)
	}
}
