package ingest

import (
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

var knownReasons = map[string]bool{
	rpm.ReasonMissingField: true, rpm.ReasonMalformed: true, rpm.ReasonUnknownCode: true, rpm.ReasonBadUnit: true,
	rpm.ReasonImplausibleValue: true, rpm.ReasonBadTime: true, rpm.ReasonFutureTime: true, rpm.ReasonTooOld: true,
	rpm.ReasonBadID: true,
}

// FuzzPayload feeds arbitrary bodies to the decoder and validator. Whatever comes in, nothing
// panics; a body is either refused whole or split into readings that are each accepted — then in
// canonical units and plausible — or refused with a known reason.
func FuzzPayload(f *testing.F) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, seed := range []string{
		`{"readings": [{"id": "a1b2-000123", "code": "8867-4", "value": 72, "unit": "/min", "at": "2026-11-21T10:00:00Z"}], "status": {"battery": 0.82, "firmware": "2.4.1", "signal_dbm": -71}}`,
		`{"readings": [{"id": "x", "code": "8310-5", "value": 98.6, "unit": "[degF]", "at": "2026-11-21T09:59:59.123Z"}, {"id": "y"}]}`,
		`{"readings": [{"id": "g", "code": "2339-0", "value": 5.5, "unit": "mmol/L", "at": "2026-11-21T09:00:00+01:00"}]}`,
		`{"readings": [{"id": "w", "code": "29463-7", "value": 1e308, "unit": "[lb_av]", "at": "2026-11-21T10:00:00Z"}]}`,
		`{"status": {"battery": 2}}`,
		`{"readings": [1, "two", null, {}]}`,
		`{"readings": []}`,
		`[]`, `{}`, ``, `{"readings": [{"id": "\u0000"}]}`,
	} {
		f.Add([]byte(seed))
	}
	win := timeWindow{now: now, skew: 2 * time.Minute, horizon: 30 * 24 * time.Hour}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePayload(body)
		if err != nil {
			if _, ok := err.(*MalformedError); !ok {
				t.Fatalf("decode error of type %T", err)
			}
			return
		}
		decodeStatus(p.Status, "d", now)
		for _, raw := range p.Readings {
			_, reading, rej := validate(raw, "d", win)
			if rej != nil {
				if !knownReasons[rej.Reason] || rej.Message == "" {
					t.Fatalf("unknown rejection %+v", rej)
				}
				continue
			}
			unit, ok := rpm.CanonicalUnit(reading.Code)
			if !ok || reading.Unit != unit || reading.DeviceReadingID == "" || reading.EffectiveAt.After(now.Add(win.skew)) {
				t.Fatalf("accepted a reading that is not canonical: %+v", reading)
			}
			if _, again := rpm.Normalize(reading.Code, reading.Unit, reading.Value); again != nil {
				t.Fatalf("accepted an implausible value: %+v", reading)
			}
			_ = sentForReview(raw)
		}
	})
}
