// Package watch runs Vigil's alert rules against the database: it evaluates stored readings inside
// the transaction that stores them (exactly once per reading), runs the clock-driven checks — no
// data, escalation, the end of a snooze — in one instance at a time, applies clinicians' actions,
// and delivers alert events to the care teams' webhooks. The rules themselves are the alerts
// package's pure logic.
package watch

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/vigil-rpm/vigil/store"
)

// Options tunes the engine. Zero values take the defaults.
type Options struct {
	// NEWS2Freshness is how old a reading may be and still count towards NEWS2 (default 1 hour);
	// AssessmentFreshness the same for a clinician's oxygen and consciousness entries (12 hours).
	NEWS2Freshness      time.Duration
	AssessmentFreshness time.Duration
	// Tick is how often the timers look for due no-data alerts, escalations and snoozes (10 s).
	Tick time.Duration
	Now  func() time.Time
	Log  *slog.Logger
	// WebhookPoll is how often RunWebhooks looks for due deliveries when nothing wakes it sooner
	// (2 s); HTTPClient sends them (default: a 10 s timeout). Redirects are never followed.
	WebhookPoll time.Duration
	HTTPClient  *http.Client
}

// Engine is the alert engine over one store.
type Engine struct {
	store *store.Store
	opts  Options
	log   *slog.Logger
	cache ruleCache
}

// New returns the engine.
func New(st *store.Store, opts Options) *Engine {
	if opts.NEWS2Freshness == 0 {
		opts.NEWS2Freshness = time.Hour
	}
	if opts.AssessmentFreshness == 0 {
		opts.AssessmentFreshness = 12 * time.Hour
	}
	if opts.Tick == 0 {
		opts.Tick = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Engine{store: st, opts: opts, log: opts.Log}
}
