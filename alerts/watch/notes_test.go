package watch

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// TestNotesNameTheHospitalsZone: an alert's summary — what pages, webhook messages and e-mails
// carry as text — gives its times on the hospital's clock, naming the zone.
func TestNotesNameTheHospitalsZone(t *testing.T) {
	ny, err := rpm.LoadClock("America/New_York", false)
	if err != nil {
		t.Fatal(err)
	}
	last := time.Date(2026, 11, 21, 15, 5, 7, 0, time.UTC)
	d := store.DeviceWatch{Kind: rpm.KindPulseOximeter, Since: last.Add(-time.Hour), LastReadingAt: last}
	for _, c := range []struct {
		clock rpm.Clock
		want  string
	}{{rpm.Clock{}, "nothing since 21 Nov 15:05:07 UTC"}, {ny, "nothing since 21 Nov 10:05:07 EST"}} {
		o, summary, ok := observeDevice(alerts.DefaultNotReporting, d, last.Add(time.Hour), c.clock)
		if !ok || !o.Breach || !strings.Contains(summary, c.want) {
			t.Errorf("on %s: %q (breach %v), want it to say %q", c.clock.ZoneName(), summary, o.Breach, c.want)
		}
	}
}
