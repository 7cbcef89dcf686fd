package rpm

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	at := time.Date(2026, 11, 21, 15, 5, 7, 0, time.UTC)
	summer := time.Date(2026, 7, 1, 15, 5, 7, 0, time.UTC)
	ny, err := LoadClock("America/New_York", false)
	if err != nil {
		t.Fatal(err)
	}
	ny12, _ := LoadClock("America/New_York", true)
	var utc Clock
	cases := []struct{ name, got, want string }{
		{"UTC by default", utc.DateTime(at), "21 Nov 2026, 15:05"},
		{"zone", ny.DateTime(at), "21 Nov 2026, 10:05"},
		{"seconds", ny.DateTimeSeconds(at), "21 Nov 2026, 10:05:07"},
		{"12-hour", ny12.DateTimeSeconds(at.Add(6 * time.Hour)), "21 Nov 2026, 4:05:07 pm"},
		{"time of day", ny.Time(at), "10:05"},
		{"stamp names the zone", ny.Stamp(at), "21 Nov 10:05:07 EST"},
		{"daylight saving", ny.Stamp(summer), "1 Jul 11:05:07 EDT"},
		{"offset", ny.Offset(at), "America/New_York (UTC−05:00)"},
		{"offset in summer", ny.Offset(summer), "America/New_York (UTC−04:00)"},
		{"offset of UTC", utc.Offset(at), "UTC"},
		{"no time", ny.DateTime(time.Time{}), "—"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
	for _, bad := range []string{"Mars/Olympus", "Local", "../etc/passwd", "EST5EDT,M3"} {
		if _, err := LoadClock(bad, false); err == nil {
			t.Errorf("LoadClock(%q) accepted", bad)
		}
	}
	if c, err := LoadClock("", false); err != nil || c.ZoneName() != "UTC" {
		t.Errorf("the default zone: %v %v", c.ZoneName(), err)
	}
}
