package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Limits of one intake request.
const (
	// MaxBodyBytes is the largest request body accepted (docs/API.md: at most 1 MiB).
	MaxBodyBytes = 1 << 20
	// MaxReadingsPerRequest bounds one request's readings; a device with more sends several.
	MaxReadingsPerRequest = 2000
	// maxStoredRejections bounds how many of one request's rejected readings are kept for review
	// (the answer still lists them all).
	maxStoredRejections = 100
	// maxReadingIDLength bounds a device's reading id.
	maxReadingIDLength = 64
	// maxSentBytes bounds how much of a rejected reading is kept for review.
	maxSentBytes = 1024
	// maxFirmwareLength bounds a reported firmware version.
	maxFirmwareLength = 32
)

// payload is the body of POST /api/v1/readings. Readings are decoded one by one, so that one bad
// reading costs only itself.
type payload struct {
	Readings []json.RawMessage `json:"readings"`
	Status   *json.RawMessage  `json:"status"`
}

// wireReading is one reading as a device sends it; pointers tell a missing field from a zero one.
type wireReading struct {
	ID    *string  `json:"id"`
	Code  *string  `json:"code"`
	Value *float64 `json:"value"`
	Unit  *string  `json:"unit"`
	At    *string  `json:"at"`
}

// wireStatus is the device's own status; fields that make no sense are ignored, never fatal.
type wireStatus struct {
	Battery   *float64 `json:"battery"`
	Firmware  *string  `json:"firmware"`
	SignalDBM *float64 `json:"signal_dbm"`
}

// MalformedError is a body that is not the JSON docs/API.md describes. Problem says where and what,
// without quoting the body, so it is safe to send back.
type MalformedError struct{ Problem string }

func (e *MalformedError) Error() string { return "ingest: malformed body: " + e.Problem }

// decodePayload reads the request body strictly: one JSON object with only the known fields,
// nothing after it.
func decodePayload(body []byte) (payload, error) {
	var p payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, &MalformedError{describeJSONError(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return p, &MalformedError{"unexpected data after the JSON object"}
	}
	if len(p.Readings) > MaxReadingsPerRequest {
		return p, &MalformedError{fmt.Sprintf("at most %d readings per request", MaxReadingsPerRequest)}
	}
	if p.Readings == nil && p.Status == nil {
		return p, &MalformedError{`the body needs "readings" (an array) or "status"`}
	}
	return p, nil
}

// describeJSONError says what is wrong with a body without quoting it.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be %s", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is empty or cut short"
	}
	return "not the expected JSON object"
}

// timeWindow is when a reading may have been taken to be accepted: from horizon before now to
// skew after it.
type timeWindow struct {
	now     time.Time
	skew    time.Duration // how far in the future a device clock may run
	horizon time.Duration // how old a reading may be
	newest  *time.Time    // if set, validate keeps here the newest time a reading carried, even one refused
}

// validate checks one reading and normalises it into Vigil's canonical code and unit. It returns
// the reading's id as sent (for the answer) and either the reading or why it was refused.
func validate(raw json.RawMessage, deviceID string, win timeWindow) (string, rpm.Reading, *rpm.Rejection) {
	var w wireReading
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return "", rpm.Reading{}, &rpm.Rejection{Reason: rpm.ReasonMalformed, Message: "The reading is not valid: " + describeJSONError(err) + "."}
	}
	id := ""
	if w.ID != nil {
		id = *w.ID
	}
	if rej := missing(w); rej != nil {
		return id, rpm.Reading{}, rej
	}
	if len(id) == 0 || len(id) > maxReadingIDLength || !printable(id) {
		return id, rpm.Reading{}, &rpm.Rejection{Reason: rpm.ReasonBadID, Field: "id",
			Message: fmt.Sprintf("The reading id must be 1 to %d printable ASCII characters.", maxReadingIDLength)}
	}
	reading, rej := rpm.Normalize(*w.Code, *w.Unit, *w.Value)
	if rej != nil {
		return id, rpm.Reading{}, rej
	}
	at, err := time.Parse(time.RFC3339Nano, *w.At)
	if err == nil && win.newest != nil && at.After(*win.newest) {
		*win.newest = at
	}
	switch {
	case err != nil:
		return id, rpm.Reading{}, &rpm.Rejection{Reason: rpm.ReasonBadTime, Field: "at", Message: "The time must be RFC 3339, e.g. 2026-11-21T10:00:00Z."}
	case at.After(win.now.Add(win.skew)):
		return id, rpm.Reading{}, &rpm.Rejection{Reason: rpm.ReasonFutureTime, Field: "at",
			Message: fmt.Sprintf("The time is more than %s ahead of Vigil's clock; check the device clock.", win.skew)}
	case at.Before(win.now.Add(-win.horizon)):
		return id, rpm.Reading{}, &rpm.Rejection{Reason: rpm.ReasonTooOld, Field: "at",
			Message: fmt.Sprintf("The reading is older than %s and is no longer accepted.", win.horizon)}
	}
	reading.DeviceID, reading.DeviceReadingID = deviceID, id
	reading.EffectiveAt, reading.ReceivedAt = at.UTC().Truncate(time.Microsecond), win.now
	return id, reading, nil
}

func missing(w wireReading) *rpm.Rejection {
	for _, f := range []struct {
		name    string
		present bool
	}{{"id", w.ID != nil}, {"code", w.Code != nil}, {"value", w.Value != nil}, {"unit", w.Unit != nil}, {"at", w.At != nil}} {
		if !f.present {
			return &rpm.Rejection{Reason: rpm.ReasonMissingField, Field: f.name, Message: "The reading has no " + f.name + "."}
		}
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// decodeStatus reads the device's status; what is absent or out of range is left out.
func decodeStatus(raw *json.RawMessage, deviceID string, at time.Time) rpm.DeviceReport {
	report := rpm.DeviceReport{DeviceID: deviceID, At: at}
	var w wireStatus
	if raw == nil || json.Unmarshal(*raw, &w) != nil {
		return report
	}
	if w.Battery != nil && *w.Battery >= 0 && *w.Battery <= 1 {
		report.Battery = w.Battery
	}
	if w.Firmware != nil && len(*w.Firmware) <= maxFirmwareLength && printable(*w.Firmware) {
		report.Firmware = *w.Firmware
	}
	if w.SignalDBM != nil && *w.SignalDBM >= -150 && *w.SignalDBM <= 0 {
		v := int(*w.SignalDBM)
		report.SignalDBM = &v
	}
	return report
}

// sentForReview is the rejected reading as kept for review: its text, bounded, as a JSON string.
// Never the raw bytes as JSON: text that Go's decoder accepts (a NUL escape, invalid UTF-8, an
// exponent of 1e999999) can be refused by PostgreSQL's jsonb, and one bad reading must not fail
// the commit it shares with others.
func sentForReview(raw json.RawMessage) []byte {
	text := strings.ToValidUTF8(strings.ReplaceAll(string(raw), "\x00", ""), "\uFFFD")
	if len(text) > maxSentBytes {
		text = strings.ToValidUTF8(text[:maxSentBytes], "") + "…"
	}
	b, _ := json.Marshal(text)
	return b
}
