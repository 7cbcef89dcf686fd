package views

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// dateTime shows an instant on the viewer's clock: "21 Nov 2026, 10:05".
func dateTime(ctx context.Context, t time.Time) string { return clock(ctx).DateTime(t) }

// dateTimeSeconds is dateTime to the second, for lists of frequent readings.
func dateTimeSeconds(ctx context.Context, t time.Time) string { return clock(ctx).DateTimeSeconds(t) }

// date shows a calendar date: "21 Nov 2026".
func date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2 Jan 2006")
}

// isoTime is the machine-readable form for <time datetime>.
func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// preciseTime is an instant to the nanosecond, as the live stream sends it: what
// static/js/live/patient.js sorts the readings table by (isoTime drops the fraction of the second).
func preciseTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// metricName is the clinician's name for a code; plainName the patient's.
func metricName(code string) string {
	if m, ok := rpm.MetricByCode(code); ok {
		return m.Name
	}
	return code
}

func plainName(code string) string {
	if m, ok := rpm.MetricByCode(code); ok {
		return m.PlainName
	}
	return code
}

// value shows a reading's value with its unit, to the metric's usual precision.
func value(r rpm.Reading) string {
	m, ok := rpm.MetricByCode(r.Code)
	if !ok {
		return strconv.FormatFloat(r.Value, 'g', 4, 64) + " " + r.Unit
	}
	return strconv.FormatFloat(r.Value, 'f', m.Decimals, 64) + " " + m.UnitLabel
}

// deviceKind names a device kind in plain words.
func deviceKind(k rpm.DeviceKind) string {
	switch k {
	case rpm.KindBPCuff:
		return "Blood-pressure cuff"
	case rpm.KindPulseOximeter:
		return "Pulse oximeter"
	case rpm.KindScale:
		return "Scale"
	case rpm.KindGlucometer:
		return "Glucometer"
	case rpm.KindThermometer:
		return "Thermometer"
	case rpm.KindWearable:
		return "Wearable"
	case rpm.KindBedsideMonitor:
		return "Bedside monitor"
	}
	return string(k)
}

func roleLabels(roles []rpm.Role) string {
	labels := make([]string, len(roles))
	for i, r := range roles {
		labels[i] = r.Label()
	}
	return strings.Join(labels, ", ")
}

func tierLabel(t rpm.Tier) string {
	switch t {
	case rpm.TierFirstResponder:
		return "First responder"
	case rpm.TierEscalation:
		return "Escalation"
	case rpm.TierSenior:
		return "Senior escalation"
	}
	return "Tier " + strconv.Itoa(int(t))
}

// sexLabel is administrative sex in words.
func sexLabel(s rpm.Sex) string {
	switch s {
	case rpm.SexFemale:
		return "Female"
	case rpm.SexMale:
		return "Male"
	case rpm.SexOther:
		return "Other"
	}
	return "Unknown"
}

// silentAfter is how long without a post makes a device "silent" on the pages; lowBattery is the
// charge that counts as low.
const (
	silentAfter = 6 * time.Hour
	lowBattery  = 0.2
)

// percent shows a 0–1 fraction as a whole percentage.
func percent(f float64) string { return strconv.Itoa(int(f*100+0.5)) + " %" }

// plural is "1 assignment", "3 assignments".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// bandLabel is a NEWS2 risk band in words.
func bandLabel(band string) string {
	switch band {
	case "low-medium":
		return "low–medium"
	case "":
		return "—"
	}
	return band
}

// sinceMargin reaches a page's live replay back before the page was rendered, past readings that
// were received before the render but committed after its queries (intake commits within seconds).
const sinceMargin = 15 * time.Second

// staleAfter is how old a vital may be before the census marks it stale.
const staleAfter = time.Hour

func decimals(code string) int {
	m, _ := rpm.MetricByCode(code)
	return m.Decimals
}

func unitLabel(code string) string {
	m, _ := rpm.MetricByCode(code)
	return m.UnitLabel
}

func number(v float64, decimals int) string { return strconv.FormatFloat(v, 'f', decimals, 64) }

func bpDia(latest map[string]rpm.Reading) string {
	if r, ok := latest[rpm.CodeDiastolicBP]; ok {
		return number(r.Value, 0)
	}
	return "—"
}

// ago says how long ago an instant was, in plain words.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " d ago"
}

// everyValue is an expected reporting interval as the care-plan select's value ("" for the kind's
// usual): "24h", "10s", "5m".
func everyValue(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}

// everyWords says an interval in words: "every 10 s", "every 24 h".
func everyWords(d time.Duration) string {
	v := everyValue(d)
	return "every " + v[:len(v)-1] + " " + v[len(v)-1:]
}
