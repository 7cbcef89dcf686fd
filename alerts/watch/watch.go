// Package watch runs Vigil's alert rules against the database: it evaluates stored readings inside
// the transaction that stores them (exactly once per reading, late ones replayed in order), runs
// the clock-driven checks — devices not reporting, low on battery or with a fast clock, no data,
// escalation, the end of a snooze — in one instance at a time, applies clinicians' actions, scores
// NEWS2 for every screen with one freshness policy, and delivers alert events to the care teams'
// webhooks. The rules themselves are the alerts package's pure logic.
package watch

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// Options tunes the engine. Zero values take the defaults.
type Options struct {
	// Freshness is the NEWS2 freshness policy (alerts.DefaultFreshness when zero): the engine's
	// evaluations and every screen that asks it for a score use the same.
	Freshness alerts.Freshness
	// Clock shows the times in alerts' summaries and notes (and so in webhook messages): the
	// hospital's zone (UTC when zero).
	Clock rpm.Clock
	// Tick is how often the timers look for due technical alerts, escalations and snoozes (10 s).
	Tick time.Duration
	// Now, if set, is the engine's clock for everything, evaluations included (a simulation's
	// virtual clock). Unset, evaluations inside a transaction use the database's clock and the
	// timers the process's.
	Now func() time.Time
	Log *slog.Logger
	// WebhookPoll is how often RunWebhooks looks for due deliveries when nothing wakes it sooner
	// (2 s); HTTPClient sends them (default: a 10 s timeout). Redirects are never followed.
	WebhookPoll time.Duration
	HTTPClient  *http.Client
}

// Engine is the alert engine over one store.
type Engine struct {
	store   *store.Store
	opts    Options
	log     *slog.Logger
	cache   ruleCache
	virtual bool // opts.Now was given: it is the clock of evaluations too
}

// New returns the engine.
func New(st *store.Store, opts Options) *Engine {
	if opts.Freshness.Measured == nil && opts.Freshness.Default == 0 {
		opts.Freshness = alerts.DefaultFreshness()
	}
	if opts.Tick == 0 {
		opts.Tick = 10 * time.Second
	}
	virtual := opts.Now != nil
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Engine{store: st, opts: opts, log: opts.Log, virtual: virtual}
}

// txNow is the clock of what a transaction saves: the database's, unless the engine runs on a
// clock of its own.
func (e *Engine) txNow(tx *store.AlertTx) time.Time {
	if e.virtual {
		return e.opts.Now()
	}
	return tx.Now()
}

// Freshness is the engine's NEWS2 freshness policy.
func (e *Engine) Freshness() alerts.Freshness { return e.opts.Freshness }

// NEWS2 scores a patient's inputs at now under the engine's freshness policy. Every screen scores
// through here (or NEWS2Of), and the engine's own evaluation does the same, so the census and the
// alerts cannot disagree. Nil inputs (an unknown patient) score as no data.
func (e *Engine) NEWS2(in *store.NEWS2Inputs, now time.Time) alerts.NEWS2 {
	if in == nil {
		in = &store.NEWS2Inputs{}
	}
	return alerts.ScoreNEWS2(alerts.NEWS2Input{Latest: in.Latest, Assessments: in.Assessments, Scale2: in.Scale2}, now, e.opts.Freshness)
}

// NEWS2Of loads and scores the patients' NEWS2 at now. The caller has authorised every patient.
func (e *Engine) NEWS2Of(ctx context.Context, patientIDs []string, now time.Time) (map[string]alerts.NEWS2, error) {
	inputs, err := e.store.NEWS2Inputs(ctx, patientIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]alerts.NEWS2, len(inputs))
	for id, in := range inputs {
		out[id] = e.NEWS2(in, now)
	}
	return out, nil
}

// DeviceRules are the technical rules in force for one patient that the screens count devices
// by: how long a device may go without a reading, and the charge that is low.
type DeviceRules struct {
	NotReporting, LowBattery alerts.Rule
}

// DeviceRulesOf returns, for each patient, the not-reporting and low-battery rules in force — or
// Vigil's defaults where the patient has them switched off, so that a screen never calls a silent
// device "reporting".
func (e *Engine) DeviceRulesOf(ctx context.Context, patientIDs []string) (map[string]DeviceRules, error) {
	rules, err := e.store.RulesForPatients(ctx, patientIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]DeviceRules, len(patientIDs))
	for _, p := range patientIDs {
		d := DeviceRules{NotReporting: alerts.DefaultNotReporting, LowBattery: alerts.DefaultLowBattery}
		for _, s := range rules[p] {
			switch r, ok := e.rule(s); {
			case ok && r.Kind == rpm.NotReporting:
				d.NotReporting = r
			case ok && r.Kind == rpm.LowBattery:
				d.LowBattery = r
			}
		}
		out[p] = d
	}
	return out, nil
}
