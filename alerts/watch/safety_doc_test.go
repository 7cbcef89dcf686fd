package watch_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
)

var updateSafety = flag.Bool("update-safety", false, "rewrite the table in docs/CLINICAL-SAFETY.md with this run's figures")

// safetyDoc is the document that keeps the replay's figures.
const safetyDoc = "../../docs/CLINICAL-SAFETY.md"

// The table's place in the document.
const (
	tableBegin = "<!-- replay table: written by go test ./alerts/watch -run TestClinicalSafetyReplay -update-safety -->"
	tableEnd   = "<!-- end of replay table -->"
)

// TestClinicalSafetyReplay runs every scenario through the real intake, rules, timers and alert
// lifecycle on a virtual clock and holds Vigil to its safety goals: every scripted deterioration
// detected in time (sensitivity 100 %), no flaps, no alert at all for stable patients, a silent
// continuous monitor alarmed within max(3 × interval, 60 s) + 10 s, and in the demo cohort no
// clinical alert for its stable patients and at most 2 clinical calls per patient-day. docs/CLINICAL-SAFETY.md must
// show this run's figures (they are deterministic); -update-safety rewrites them.
func TestClinicalSafetyReplay(t *testing.T) {
	results := make([]outcome, len(scenarios))
	t.Run("scenarios", func(t *testing.T) {
		for i, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				results[i] = replay(t, sc)
				checkScenario(t, sc, results[i])
			})
		}
	})
	if t.Failed() {
		return
	}
	table := safetyTable(results)
	t.Log("\n" + table)
	doc, err := os.ReadFile(safetyDoc)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := bytes.Index(doc, []byte(tableBegin)), bytes.Index(doc, []byte(tableEnd))
	if begin < 0 || end < begin {
		t.Fatalf("%s has no replay table between %q and %q", safetyDoc, tableBegin, tableEnd)
	}
	current := string(doc[begin+len(tableBegin) : end])
	if strings.TrimSpace(current) == strings.TrimSpace(table) {
		return
	}
	if !*updateSafety {
		t.Fatalf("%s shows other figures than this run; run go test ./alerts/watch -run TestClinicalSafetyReplay -update-safety and commit it", safetyDoc)
	}
	updated := append(append(append([]byte{}, doc[:begin+len(tableBegin)]...), "\n"+table+"\n"...), doc[end:]...)
	if err := os.WriteFile(safetyDoc, updated, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkScenario holds one run to what its script demands.
func checkScenario(t *testing.T, sc scenario, o outcome) {
	t.Helper()
	for _, f := range o.failures {
		t.Error(f)
	}
	if sc.stable && o.falseAlarms > 0 {
		t.Errorf("%d alerts for stable patients", o.falseAlarms)
	}
	if sc.demo && o.clinicalPerPatientDay > 2 {
		t.Errorf("alarm load %.2f clinical calls per patient-day in the demo cohort, want at most 2", o.clinicalPerPatientDay)
	}
	switch sc.name {
	case "Noisy borderline SpO₂ 89–91 %":
		if o.clinical > 1 {
			t.Errorf("%d clinical alerts for one borderline patient; want at most one episode", o.clinical)
		}
	case "Two devices disagreeing":
		if got := o.alertsByDevice["threshold "+rpm.CodeSpO2]; got != "finger oximeter" || o.clinical != 1 {
			t.Errorf("the SpO₂ alert names %q (%d clinical alerts); want one, raised by the finger oximeter", got, o.clinical)
		}
	case "Late backfill of an abnormal hour":
		if o.late != 1 {
			t.Errorf("%d alerts marked late, want 1", o.late)
		}
	case "Empty escalation tier":
		if o.skipped < 1 || o.stuck < 1 {
			t.Errorf("escalations %d (past an empty tier %d), stuck %d: want one past tier 2 and one that could go nowhere", o.escalations, o.skipped, o.stuck)
		}
	}
}

// safetyTable is the document's table of a run.
func safetyTable(results []outcome) string {
	var b strings.Builder
	b.WriteString("| scenario | simulated | patients | clinical alerts | technical alerts | episodes | flaps | reopened < 15 min | detected | time to detection | escalations | clinical calls per patient-day |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var expected, detected, flaps, reopened int
	for _, o := range results {
		expected, detected, flaps, reopened = expected+o.expected, detected+o.detected, flaps+o.flaps, reopened+o.reopened
		if o.scenario == "The demo cohort, 24 h" {
			b.WriteString("| **" + o.scenario + "** ")
		} else {
			b.WriteString("| " + o.scenario + " ")
		}
		det, ttd := "—", "—"
		if o.expected > 0 {
			det = fmt.Sprintf("%d of %d", o.detected, o.expected)
			var parts []string
			for _, d := range o.detection {
				parts = append(parts, shortD(d.Round(time.Second)))
			}
			ttd = strings.Join(parts, ", ")
		}
		esc := fmt.Sprint(o.escalations)
		if o.stuck > 0 {
			esc += fmt.Sprintf(" (+%d with no one higher)", o.stuck)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %s | %s | %s | %.1f |\n", shortD(time.Duration(o.hours*float64(time.Hour))),
			o.patients, o.clinical, o.technical, o.episodes, o.flaps, o.reopened, det, ttd, esc, o.clinicalPerPatientDay)
	}
	fmt.Fprintf(&b, "| **all scenarios** | | | | | | **%d** | **%d** | **%d of %d (%.0f %%)** | | | |\n", flaps, reopened, detected, expected,
		100*float64(detected)/float64(max(expected, 1)))
	return b.String()
}

// shortD is a duration as the table says it: 24h, 2m30s, 70s.
func shortD(d time.Duration) string {
	s := d.String()
	for _, suffix := range []string{"m0s", "h0m"} {
		if strings.HasSuffix(s, suffix) {
			s = s[:len(s)-len(suffix)+1]
		}
	}
	return s
}

// news2MediumAt is when a scripted physiology's true NEWS2 (on air, alert) first reaches the
// medium band, to the minute: the onset the replay must detect.
func news2MediumAt(p physiology) time.Duration {
	f := alerts.DefaultFreshness()
	assessments := []rpm.ClinicalAssessment{{Kind: rpm.AssessOxygen, Value: rpm.OnAir, Standing: true},
		{Kind: rpm.AssessConsciousness, Value: rpm.ConsciousAlert, Standing: true}}
	for t := time.Duration(0); t < 48*time.Hour; t += time.Minute {
		latest := map[string]rpm.Reading{}
		for _, code := range alerts.NEWS2Codes {
			latest[code] = rpm.Reading{Code: code, Value: p(code, t), EffectiveAt: time.Unix(0, 0)}
		}
		n := alerts.ScoreNEWS2(alerts.NEWS2Input{Latest: latest, Assessments: assessments}, time.Unix(0, 0), f)
		if n.Band == alerts.BandMedium || n.Band == alerts.BandHigh {
			return t
		}
	}
	panic("the physiology never reaches NEWS2 medium")
}
