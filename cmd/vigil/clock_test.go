package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// TestEachUserReadsTimesOnTheirClock: a clinician who chooses a time zone and a 12-hour clock sees
// every time on the pages in it — the patient view's readings table among them — and the page
// frame names the zone; a zone Vigil does not know is refused next to its field, keeping what was
// typed; the choice is audited. Another user keeps the hospital's clock (UTC in the demo).
func TestEachUserReadsTimesOnTheirClock(t *testing.T) {
	d := startDemo(t)
	nakamura := d.patientID(t, "H1000002")
	token := liveDevice(t, d.store, "CLOCK-1", nakamura)
	at := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)
	postReadingAt(t, d.base, token, "clock-1", rpm.CodeHeartRate, 77, "/min", at)

	kim, osei := d.browser(t), d.browser(t)
	page := kim.signIn("nurse.kim", "vigil-demo")
	osei.signIn("dr.osei", "vigil-demo")
	form := func(zone, clock string) url.Values {
		return url.Values{"_csrf": {csrfToken(t, page.body)}, "time_zone": {zone}, "clock": {clock}}
	}
	bad := kim.post("/settings", form("Mars/Olympus", "12"))
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "“Mars/Olympus” is not a time zone Vigil knows") ||
		!strings.Contains(bad.body, `value="Mars/Olympus"`) || !strings.Contains(bad.body, `aria-invalid="true"`) {
		t.Fatalf("an unknown zone: %d\n%.2000s", bad.status, bad.body)
	}
	if saved := kim.post("/settings", form("America/New_York", "12")); saved.status != http.StatusOK || !strings.Contains(saved.body, "Saved.") {
		t.Fatalf("saving a zone: %d", saved.status)
	}

	ny, _ := rpm.LoadClock("America/New_York", true)
	view := kim.get("/patients/" + nakamura)
	if want := ny.DateTimeSeconds(at); !strings.Contains(view.body, want) {
		t.Errorf("the readings table does not show the reading at %q on nurse.kim's clock", want)
	}
	if want := "times in " + ny.Offset(at); !strings.Contains(view.body, want) {
		t.Errorf("the page frame does not say %q", want)
	}
	if !strings.Contains(view.body, `data-time-zone="America/New_York" data-hour-cycle="h12"`) {
		t.Error("the page does not hand its scripts nurse.kim's clock")
	}
	var utc rpm.Clock
	other := osei.get("/patients/" + nakamura)
	if other.status != http.StatusOK || !strings.Contains(other.body, "times in UTC") || !strings.Contains(other.body, utc.DateTimeSeconds(at)) {
		t.Errorf("dr.osei, who chose nothing, does not read the hospital's clock (%d)", other.status)
	}

	var n int
	if err := d.db.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE action = $1`, rpm.ActionUserSettings).Scan(&n); err != nil || n != 1 {
		t.Errorf("settings changes audited: %d (%v), want 1", n, err)
	}
}
