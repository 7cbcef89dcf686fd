package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/views"
)

// rejectionWindow is how far back a device page's data-quality summary looks.
const rejectionWindow = 30 * 24 * time.Hour

// AdminDevices shows the fleet, filtered, with the provisioning form.
func (h *Handlers) AdminDevices(c echo.Context) error {
	return h.renderDevices(c, http.StatusOK, "", views.DeviceForm{Kind: string(rpm.KindBPCuff)})
}

func (h *Handlers) renderDevices(c echo.Context, status int, problem string, form views.DeviceForm) error {
	ctx := c.Request().Context()
	now := h.now()
	f, filterProblem := deviceFilter(c, now)
	if filterProblem != "" {
		problem = "Filter: " + filterProblem
	}
	devices, err := h.store.Devices(ctx, f)
	if err != nil {
		return err
	}
	firmwares, err := h.store.Firmwares(ctx)
	if err != nil {
		return err
	}
	return render(c, status, views.Devices(views.DevicesPage{
		Devices: devices, Now: now, Firmwares: firmwares, Problem: problem, Form: form,
		Filter: views.DeviceFilter{Status: string(f.Status), Kind: string(f.Kind), SilentHours: c.QueryParam("silent_hours"),
			Firmware: f.Firmware, LowBattery: f.LowBattery > 0, Unassigned: f.Unassigned},
	}))
}

// AdminDeviceCreate provisions a device from the form and shows its token once.
func (h *Handlers) AdminDeviceCreate(c echo.Context) error {
	var n newDevice
	if err := c.Bind(&n); err != nil {
		return rpm.Errorf(rpm.EInvalid, "The form could not be read.")
	}
	id, token, problem, err := h.provision(c, n)
	if err != nil {
		return err
	}
	if problem != "" {
		form := views.DeviceForm{Serial: n.Serial, Vendor: n.Vendor, Model: n.Model, Kind: n.Kind, MAC: n.MAC, RiskClass: n.RiskClass, Notes: n.Notes}
		return h.renderDevices(c, http.StatusUnprocessableEntity, problem, form)
	}
	return render(c, http.StatusCreated, views.TokenPage(id, n.Serial, token))
}

// AdminDevice shows one device: status, history, data quality and credential actions.
func (h *Handlers) AdminDevice(c echo.Context) error {
	ctx := c.Request().Context()
	d, err := h.store.Device(ctx, c.Param("device"))
	if err != nil {
		return notFoundAs(err, errNoDevice)
	}
	history, err := h.store.DeviceStatusHistory(ctx, d.ID, 50)
	if err != nil {
		return err
	}
	reasons, err := h.store.DeviceRejections(ctx, d.ID, h.now().Add(-rejectionWindow))
	if err != nil {
		return err
	}
	assignments, err := h.store.DeviceAssignments(ctx, d.ID)
	if err != nil {
		return err
	}
	p := views.DevicePage{Device: d, Now: h.now(), History: history, Assignments: len(assignments)}
	for _, r := range reasons {
		p.Rejections = append(p.Rejections, views.RejectionCount{Reason: r.Reason, Count: r.Count, Last: r.Last})
	}
	return render(c, http.StatusOK, views.Device(p))
}

// AdminDeviceRotate issues a new token from the device page and shows it once.
func (h *Handlers) AdminDeviceRotate(c echo.Context) error {
	d, err := h.store.Device(c.Request().Context(), c.Param("device"))
	if err != nil {
		return notFoundAs(err, errNoDevice)
	}
	token, err := h.rotate(c, d.ID)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.TokenPage(d.ID, d.Serial, token))
}

// AdminDeviceRevoke revokes the token from the device page.
func (h *Handlers) AdminDeviceRevoke(c echo.Context) error {
	id := c.Param("device")
	if err := h.revoke(c, id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/devices/"+id)
}

// AdminDeviceStatus marks a device lost, retired or active again.
func (h *Handlers) AdminDeviceStatus(c echo.Context) error {
	id, status := c.Param("device"), rpm.DeviceStatus(c.FormValue("status"))
	switch status {
	case rpm.DeviceActive, rpm.DeviceLost, rpm.DeviceRetired:
	default:
		return rpm.Errorf(rpm.EInvalid, "The status must be active, lost or retired.")
	}
	u, _ := auth.Viewer(c)
	if err := h.store.SetDeviceStatus(c.Request().Context(), id, status, u.ID); err != nil {
		return notFoundAs(err, errNoDevice)
	}
	if err := h.audit(c, rpm.ActionDeviceStatus, "", "device", id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/devices/"+id)
}
