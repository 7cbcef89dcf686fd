package handlers

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// lowBattery is the charge at or below which a device counts as low on battery (20 %).
const lowBattery = 0.2

// deviceFilter reads the fleet filter from the query: status, kind, silent_hours, low_battery,
// firmware, unassigned.
func deviceFilter(c echo.Context, now time.Time) (store.DeviceFilter, string) {
	f := store.DeviceFilter{Now: now, Status: rpm.DeviceStatus(c.QueryParam("status")), Kind: rpm.DeviceKind(c.QueryParam("kind")),
		Firmware: c.QueryParam("firmware"), Unassigned: c.QueryParam("unassigned") == "true"}
	switch f.Status {
	case "", rpm.DeviceActive, rpm.DeviceLost, rpm.DeviceRetired:
	default:
		return f, "status must be active, lost or retired."
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return f, "kind is not a device kind Vigil knows."
	}
	if v := c.QueryParam("silent_hours"); v != "" {
		hours, err := strconv.ParseFloat(v, 64)
		if err != nil || hours <= 0 || hours > 24*365 {
			return f, "silent_hours must be a positive number of hours."
		}
		f.SilentFor = time.Duration(hours * float64(time.Hour))
	}
	if c.QueryParam("low_battery") == "true" {
		f.LowBattery = lowBattery
	}
	return f, ""
}
