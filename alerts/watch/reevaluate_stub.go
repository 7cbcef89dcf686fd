package watch

import "context"

// ReevaluateNEWS2 evaluates the patient's NEWS2 rule again after a clinician changed its inputs.
// TEMPORARY stub so the rules branch compiles: the lead's implementation replaces this file.
func (e *Engine) ReevaluateNEWS2(ctx context.Context, patientID string) error { return nil }
