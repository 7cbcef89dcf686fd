package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// NEWS2Inputs is what a patient's NEWS2 is scored from: the latest reading of each measured
// parameter (readings a device took after it was marked lost or retired left out), the latest
// oxygen and consciousness entries of each kind and the latest standing ones, who recorded them
// (user id → name), and whether the patient is scored on SpO₂ scale 2. Freshness is the scorer's
// business.
type NEWS2Inputs struct {
	Latest      map[string]rpm.Reading // by code
	Assessments []rpm.ClinicalAssessment
	Recorders   map[string]string
	Scale2      bool
}

// NEWS2Inputs returns the NEWS2 inputs of each patient, in one round trip; a patient who does not
// exist is left out.
func (s *Store) NEWS2Inputs(ctx context.Context, patientIDs []string) (map[string]*NEWS2Inputs, error) {
	out := map[string]*NEWS2Inputs{}
	if len(patientIDs) == 0 {
		return out, nil
	}
	b := &pgx.Batch{}
	queueNEWS2Inputs(b, patientIDs, out)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("store: news2 inputs: %w", err)
	}
	return out, nil
}

// queueNEWS2Inputs queues the reads of the patients' NEWS2 inputs into out, which it fills with
// an entry for every patient that exists.
func queueNEWS2Inputs(b *pgx.Batch, patients []string, out map[string]*NEWS2Inputs) {
	b.Queue(`SELECT id::text, spo2_scale = 2 FROM patients WHERE id = ANY($1::uuid[])`, patients).Query(func(rows pgx.Rows) error {
		var p string
		var scale2 bool
		_, err := pgx.ForEachRow(rows, []any{&p, &scale2}, func() error {
			out[p] = &NEWS2Inputs{Latest: map[string]rpm.Reading{}, Recorders: map[string]string{}, Scale2: scale2}
			return nil
		})
		return err
	})
	b.Queue(latestSQL, patients, rpm.NEWS2Codes).Query(func(rows pgx.Rows) error {
		latest, err := pgx.CollectRows(rows, scanReading)
		for _, r := range latest {
			if in := out[r.PatientID]; in != nil {
				in.Latest[r.Code] = r
			}
		}
		return err
	})
	b.Queue(`
		SELECT p.id::text, k.kind, c.value, c.recorded_at, coalesce(c.recorded_by::text, ''), c.standing,
		       coalesce(u.display_name, '')
		FROM unnest($1::uuid[]) AS p(id) CROSS JOIN unnest(ARRAY['supplemental_oxygen', 'consciousness']) AS k(kind)
		CROSS JOIN LATERAL (
			(SELECT * FROM clinical_assessments c WHERE c.patient_id = p.id AND c.kind = k.kind
			 ORDER BY c.recorded_at DESC LIMIT 1)
			UNION
			(SELECT * FROM clinical_assessments c WHERE c.patient_id = p.id AND c.kind = k.kind AND c.standing
			 ORDER BY c.recorded_at DESC LIMIT 1)) c
		LEFT JOIN users u ON u.id = c.recorded_by`, patients).Query(func(rows pgx.Rows) error {
		var p, name string
		var c rpm.ClinicalAssessment
		_, err := pgx.ForEachRow(rows, []any{&p, &c.Kind, &c.Value, &c.RecordedAt, &c.RecordedBy, &c.Standing, &name}, func() error {
			if in := out[p]; in != nil {
				in.Assessments = append(in.Assessments, c)
				if c.RecordedBy != "" {
					in.Recorders[c.RecordedBy] = name
				}
			}
			return nil
		})
		return err
	})
}

// latestSQL is the latest reading of each code ($2) for each patient ($1), one index probe per
// pair, leaving out what a device took after it was marked lost or retired: a lost device's
// readings say nothing about the patient.
const latestSQL = `
	SELECT r.patient_id, r.device_id, r.device_reading_id, r.code, r.value, r.unit, r.effective_at, r.received_at
	FROM unnest($1::uuid[]) AS p(id) CROSS JOIN unnest($2::text[]) AS c(code)
	CROSS JOIN LATERAL (
		SELECT * FROM readings r WHERE r.patient_id = p.id AND r.code = c.code
		  AND NOT EXISTS (SELECT 1 FROM devices d
		                  WHERE d.id = r.device_id AND d.status <> 'active' AND r.effective_at >= d.status_changed_at)
		ORDER BY r.effective_at DESC LIMIT 1) r`

// latestFor returns the latest reading of each code for each patient (latestSQL).
func (s *Store) latestFor(ctx context.Context, patientIDs, codes []string) ([]rpm.Reading, error) {
	rows, err := s.pool.Query(ctx, latestSQL, patientIDs, codes)
	return collect("latest readings", rows, err, scanReading)
}
