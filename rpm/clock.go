package rpm

import (
	"fmt"
	"time"
)

// Clock is how instants are shown to people: in one time zone, on a 24-hour clock unless the
// person chose 12 hours. The hospital sets the zone (VIGIL_TIME_ZONE); each user may choose their
// own. Pages show times without the zone's name — the page frame names the zone once — while text
// that travels (alert notes, webhook messages, CSV) names it on every time.
//
// static/js/live/format.js formats the same way in the browser; keep the two in step.
type Clock struct {
	Zone   *time.Location // nil means UTC
	Hour12 bool
}

// DefaultTimeZone is the hospital's time zone when none is configured.
const DefaultTimeZone = "UTC"

// LoadClock returns the clock of an IANA zone name ("" for UTC), or an error naming the problem.
func LoadClock(zone string, hour12 bool) (Clock, error) {
	if zone == "" {
		zone = DefaultTimeZone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		return Clock{}, fmt.Errorf("%q is not a time zone name (an IANA name such as Europe/London or America/New_York)", zone)
	}
	return Clock{Zone: loc, Hour12: hour12}, nil
}

func (c Clock) zone() *time.Location {
	if c.Zone == nil {
		return time.UTC
	}
	return c.Zone
}

// ZoneName is the clock's IANA zone name ("UTC", "America/New_York").
func (c Clock) ZoneName() string { return c.zone().String() }

// In is t on the clock's zone.
func (c Clock) In(t time.Time) time.Time { return t.In(c.zone()) }

func (c Clock) clock(seconds bool) string {
	switch {
	case c.Hour12 && seconds:
		return "3:04:05 pm"
	case c.Hour12:
		return "3:04 pm"
	case seconds:
		return "15:04:05"
	}
	return "15:04"
}

// DateTime is an instant as a page shows it: "21 Nov 2026, 10:05" ("—" for none).
func (c Clock) DateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return c.In(t).Format("2 Jan 2006, " + c.clock(false))
}

// DateTimeSeconds is DateTime to the second, for lists of frequent readings.
func (c Clock) DateTimeSeconds(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return c.In(t).Format("2 Jan 2006, " + c.clock(true))
}

// Time is the time of day alone: "10:05".
func (c Clock) Time(t time.Time) string { return c.In(t).Format(c.clock(false)) }

// Stamp is an instant in text that travels without the page's frame — an alert's note, a webhook
// message — so it names its zone: "21 Nov 10:05:07 EST".
func (c Clock) Stamp(t time.Time) string {
	return c.In(t).Format("2 Jan " + c.clock(true) + " MST")
}

// Offset is the zone's name and UTC offset at t, as a page's frame names it: "America/New_York
// (UTC−05:00)", "UTC".
func (c Clock) Offset(t time.Time) string {
	if c.zone() == time.UTC {
		return "UTC"
	}
	_, secs := c.In(t).Zone()
	sign := "+"
	if secs < 0 {
		sign, secs = "−", -secs
	}
	return fmt.Sprintf("%s (UTC%s%02d:%02d)", c.ZoneName(), sign, secs/3600, secs%3600/60)
}
