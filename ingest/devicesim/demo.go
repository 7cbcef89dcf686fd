package devicesim

import "time"

// Story is what happens to a simulated patient, and how far it has run when a simulation starts.
type Story struct {
	Scenario Scenario
	Head     time.Duration
}

// DemoStories are the stories of the demo hospital's patients (demo.New), by MRN; a patient not
// listed is stable. Some start well under way, so a visitor sees them within minutes: one
// deterioration at a medium NEWS2, one at high, and the first hypoxic and hypotensive episodes a
// few minutes in (their earlier ones, a few a day, are in the demo's history). `vigil demo`, its
// tests and the clinical-safety replay of the demo cohort all read them here.
var DemoStories = map[string]Story{
	"H1000002": {Deterioration, 5 * time.Hour}, // NEWS2 rising over hours
	"H1000003": {Hypotensive, -4 * time.Minute},
	"H1000004": {Silent, 0},
	"H1000006": {Fever, 0},
	"H1000007": {BatteryDrain, 0},
	"H1000101": {Hypoxic, -2 * time.Minute},
	"H1000102": {Deterioration, 7 * time.Hour},
	"H1000103": {ClockSkew, 0},
}

// DemoStory is a demo patient's story: Stable for a patient without one.
func DemoStory(mrn string) Story {
	if s, ok := DemoStories[mrn]; ok {
		return s
	}
	return Story{Scenario: Stable}
}
