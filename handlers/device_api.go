package handlers

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// deviceJSON is a device in the JSON API: identity and the status it last reported.
type deviceJSON struct {
	ID        string     `json:"id"`
	Serial    string     `json:"serial"`
	Vendor    string     `json:"vendor"`
	Model     string     `json:"model"`
	Kind      string     `json:"kind"`
	Status    string     `json:"status"`
	MAC       string     `json:"mac,omitempty"`
	RiskClass string     `json:"risk_class,omitempty"`
	LastSeen  *time.Time `json:"last_seen"`
	Battery   *float64   `json:"battery"`
	Firmware  string     `json:"firmware,omitempty"`
	SignalDBM *int       `json:"signal_dbm"`
	Assigned  bool       `json:"assigned"`
}

func toDeviceJSON(d rpm.Device) deviceJSON {
	j := deviceJSON{ID: d.ID, Serial: d.Serial, Vendor: d.Vendor, Model: d.Model, Kind: string(d.Kind), Status: string(d.Status),
		MAC: d.MAC, RiskClass: string(d.RiskClass), Battery: d.Battery, Firmware: d.Firmware, SignalDBM: d.SignalDBM, Assigned: d.Assigned}
	if !d.LastSeenAt.IsZero() {
		j.LastSeen = &d.LastSeenAt
	}
	return j
}

// newDevice is what provisioning takes.
type newDevice struct {
	Serial    string `json:"serial" form:"serial"`
	Vendor    string `json:"vendor" form:"vendor"`
	Model     string `json:"model" form:"model"`
	Kind      string `json:"kind" form:"kind"`
	MAC       string `json:"mac" form:"mac"`
	RiskClass string `json:"risk_class" form:"risk_class"`
	Notes     string `json:"notes" form:"notes"`
}

// device checks the fields and returns the device, or what to correct.
func (n newDevice) device() (rpm.Device, string) {
	d := rpm.Device{Serial: strings.TrimSpace(n.Serial), Vendor: strings.TrimSpace(n.Vendor), Model: strings.TrimSpace(n.Model),
		Kind: rpm.DeviceKind(n.Kind), MAC: strings.TrimSpace(n.MAC), RiskClass: rpm.RiskClass(n.RiskClass), Notes: strings.TrimSpace(n.Notes)}
	switch {
	case d.Serial == "" || len(d.Serial) > 64 || !printableASCII(d.Serial):
		return d, "The serial number must be 1 to 64 printable characters."
	case d.Vendor == "" || len(d.Vendor) > 100 || !utf8.ValidString(d.Vendor):
		return d, "The vendor must be 1 to 100 characters."
	case len(d.Model) > 100 || !utf8.ValidString(d.Model):
		return d, "The model must be at most 100 characters."
	case !d.Kind.Valid():
		return d, "The kind must be one of bp_cuff, pulse_oximeter, scale, thermometer, glucometer, wearable, bedside_monitor."
	case d.RiskClass != "" && d.RiskClass != "I" && d.RiskClass != "II" && d.RiskClass != "III":
		return d, "The risk class must be I, II or III."
	case len(d.Notes) > 1000 || !utf8.ValidString(d.Notes):
		return d, "Notes must be at most 1000 characters."
	}
	if d.MAC != "" {
		hw, err := net.ParseMAC(d.MAC)
		if err != nil {
			return d, "The MAC address must look like 00:1a:2b:3c:4d:5e."
		}
		d.MAC = hw.String()
	}
	return d, ""
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// provision adds a device with a fresh token; problem says what to correct.
func (h *Handlers) provision(c echo.Context, n newDevice) (id, token, problem string, err error) {
	d, problem := n.device()
	if problem != "" {
		return "", "", problem, nil
	}
	token, hash := auth.NewDeviceToken()
	id, err = h.store.ProvisionDevice(c.Request().Context(), d, hash)
	if errors.Is(err, store.ErrConflict) {
		return "", "", "This vendor already has a device with that serial number.", nil
	}
	if err != nil {
		return "", "", "", err
	}
	return id, token, "", h.audit(c, rpm.ActionDeviceProvision, "", "device", id)
}

// tokenJSON is the one time a device token is shown.
type tokenJSON struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

// APIDeviceCreate provisions a device (IT admin): 201 with its id and token, shown this once.
func (h *Handlers) APIDeviceCreate(c echo.Context) error {
	var n newDevice
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		return rpm.Errorf(rpm.EInvalid, `The body must be JSON {"serial", "vendor", "model", "kind", "mac", "risk_class", "notes"}.`)
	}
	id, token, problem, err := h.provision(c, n)
	if err != nil {
		return err
	}
	if problem != "" {
		return rpm.Errorf(rpm.EInvalid, problem)
	}
	return c.JSON(http.StatusCreated, tokenJSON{ID: id, Token: token})
}

var errNoDevice = rpm.Errorf(rpm.ENotFound, "There is no such device.")

// rotate gives a device a new token; the old one stops working at once.
func (h *Handlers) rotate(c echo.Context, id string) (string, error) {
	token, hash := auth.NewDeviceToken()
	if err := h.store.RotateDeviceToken(c.Request().Context(), id, hash); err != nil {
		return "", notFoundAs(err, errNoDevice)
	}
	return token, h.audit(c, rpm.ActionDeviceRotate, "", "device", id)
}

// APIDeviceRotate issues a device a new token (IT admin).
func (h *Handlers) APIDeviceRotate(c echo.Context) error {
	id := c.Param("device")
	token, err := h.rotate(c, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tokenJSON{ID: id, Token: token})
}

// revoke stops a device's token at once.
func (h *Handlers) revoke(c echo.Context, id string) error {
	if err := h.store.RevokeDeviceToken(c.Request().Context(), id); err != nil {
		return notFoundAs(err, errNoDevice)
	}
	return h.audit(c, rpm.ActionDeviceRevoke, "", "device", id)
}

// APIDeviceRevoke stops a device's token at once (IT admin).
func (h *Handlers) APIDeviceRevoke(c echo.Context) error {
	if err := h.revoke(c, c.Param("device")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// APIDevices lists the fleet with each device's status (IT admin). It says whether a device is
// assigned, not to whom.
func (h *Handlers) APIDevices(c echo.Context) error {
	f, problem := deviceFilter(c, h.now())
	if problem != "" {
		return rpm.Errorf(rpm.EInvalid, problem)
	}
	devices, err := h.store.Devices(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]deviceJSON, len(devices))
	for i, d := range devices {
		out[i] = toDeviceJSON(d)
	}
	return c.JSON(http.StatusOK, map[string]any{"devices": out})
}
