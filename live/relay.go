package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// idsPerNotice keeps a notice small enough for PostgreSQL's 8000-byte payload limit.
const idsPerNotice = 150

// maxReadback bounds how many readings one announcement reads back.
const maxReadback = 10000

// Relay carries stored readings to dashboards on every instance: to this instance's hub at once,
// and to the others through a Bus notice that wakes them to read the readings back from the
// database.
type Relay struct {
	hub      *Hub
	bus      Bus
	store    *store.Store
	instance string
	log      *slog.Logger

	mu        sync.Mutex
	lastHeard time.Time           // the newest announcement received; where a catch-up starts
	pending   map[string]struct{} // watched patients whose follow-up frames are due
	wake      chan struct{}

	unannounced                    map[string]struct{} // patients with stored readings not yet announced
	unannouncedFrom, unannouncedTo time.Time
	announce                       chan struct{}

	scorer Scorer
}

// Scorer scores patients' current NEWS2 (the alert engine does, with its freshness policy).
type Scorer interface {
	NEWS2Of(ctx context.Context, patientIDs []string, now time.Time) (map[string]alerts.NEWS2, error)
}

// NewRelay returns a relay for the hub that announces on bus, reads readings back from st, and
// follows new readings of watched patients with their NEWS2 from scorer (none if nil).
func NewRelay(hub *Hub, bus Bus, st *store.Store, scorer Scorer, log *slog.Logger) *Relay {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Relay{hub: hub, bus: bus, store: st, scorer: scorer, instance: hex.EncodeToString(b), log: log,
		pending: map[string]struct{}{}, wake: make(chan struct{}, 1),
		unannounced: map[string]struct{}{}, announce: make(chan struct{}, 1)}
}

// followUp queues the watched ones among these patients for their new NEWS2.
func (r *Relay) followUp(patientIDs []string) {
	if r.scorer == nil {
		return
	}
	r.mu.Lock()
	for _, id := range patientIDs {
		if r.hub.Subscribers(id) > 0 {
			r.pending[id] = struct{}{}
		}
	}
	due := len(r.pending) > 0
	r.mu.Unlock()
	if due {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// runFollowUps scores and publishes the NEWS2 of watched patients whose readings changed, until
// ctx ends: in the relay's own goroutine, never on intake's path. Requests that arrive while one
// round runs are gathered into the next.
func (r *Relay) runFollowUps(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		r.mu.Lock()
		ids := make([]string, 0, len(r.pending))
		for id := range r.pending {
			ids = append(ids, id)
		}
		r.pending = map[string]struct{}{}
		r.mu.Unlock()
		scores, err := r.scorer.NEWS2Of(ctx, ids, time.Now())
		if err != nil {
			r.log.Warn("scoring NEWS2 for live dashboards failed", slog.Any("err", err))
			continue
		}
		for id, n := range scores {
			r.hub.Publish(Frame{Type: "news2", Patient: id, NEWS2: ScoreFrameOf(n)})
		}
	}
}

// ReadingsStored publishes readings just stored by this instance and queues their announcement to
// the others. It never waits for a dashboard or the database.
func (r *Relay) ReadingsStored(ctx context.Context, readings []rpm.Reading) {
	if len(readings) == 0 {
		return
	}
	frames := ReadingsFrames(readings)
	from, to := readings[0].ReceivedAt, readings[0].ReceivedAt
	ids := make([]string, 0, len(frames))
	for _, r := range readings {
		from, to = minTime(from, r.ReceivedAt), maxTime(to, r.ReceivedAt)
	}
	for _, f := range frames {
		r.hub.Publish(f)
		ids = append(ids, f.Patient)
	}
	r.followUp(ids)
	r.queueNotice(ids, from, to)
}

// queueNotice adds stored readings to the next announcement. Announcing takes a database round
// trip, so it happens in the relay's own goroutine, never on intake's path; announcements that
// fall due while one is being sent are merged into the next.
func (r *Relay) queueNotice(ids []string, from, to time.Time) {
	r.mu.Lock()
	for _, id := range ids {
		r.unannounced[id] = struct{}{}
	}
	if r.unannouncedFrom.IsZero() || from.Before(r.unannouncedFrom) {
		r.unannouncedFrom = from
	}
	r.unannouncedTo = maxTime(r.unannouncedTo, to)
	r.mu.Unlock()
	select {
	case r.announce <- struct{}{}:
	default:
	}
}

// runAnnouncements sends queued announcements until ctx ends.
func (r *Relay) runAnnouncements(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.announce:
		}
		r.mu.Lock()
		ids := make([]string, 0, len(r.unannounced))
		for id := range r.unannounced {
			ids = append(ids, id)
		}
		from, to := r.unannouncedFrom, r.unannouncedTo
		r.unannounced, r.unannouncedFrom, r.unannouncedTo = map[string]struct{}{}, time.Time{}, time.Time{}
		r.mu.Unlock()
		for start := 0; start < len(ids); start += idsPerNotice {
			n := Notice{Instance: r.instance, Patients: ids[start:min(start+idsPerNotice, len(ids))], From: from, To: to}
			if err := r.bus.Announce(ctx, n); err != nil {
				r.log.Warn("announcing stored readings to other instances failed", slog.Any("err", err))
				break
			}
		}
	}
}

// Run listens for other instances' announcements until ctx ends and publishes what they stored,
// read back from the database, for the patients someone here is watching.
// It returns when all its goroutines have stopped.
func (r *Relay) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if r.scorer != nil {
		wg.Go(func() { r.runFollowUps(ctx) })
	}
	wg.Go(func() { r.runAnnouncements(ctx) })
	wg.Go(func() { r.runAlerts(ctx) })
	connected := false
	_ = r.bus.Listen(ctx, func(n Notice) { r.receive(ctx, n) }, func() {
		if connected {
			r.catchUp(ctx)
		} else {
			r.mu.Lock()
			r.lastHeard = maxTime(r.lastHeard, time.Now()) // a later catch-up starts no earlier than this
			r.mu.Unlock()
		}
		connected = true
	})
}

// catchUpMargin reaches back before the last announcement heard, for readings committed a
// little out of order.
const catchUpMargin = 30 * time.Second

// catchUp publishes, after the listening connection was lost and re-established, what other
// instances stored meanwhile for the patients watched here (frames may repeat; dashboards dedupe).
func (r *Relay) catchUp(ctx context.Context) {
	r.mu.Lock()
	since := r.lastHeard
	r.mu.Unlock()
	watched := r.hub.Watched()
	if since.IsZero() || len(watched) == 0 {
		return
	}
	readings, err := r.store.ReadingsReceivedSince(ctx, watched, since.Add(-catchUpMargin), maxReadback)
	if err != nil {
		r.log.Warn("catching up after the listener reconnected failed", slog.Any("err", err))
		return
	}
	frames := ReadingsFrames(readings)
	ids := make([]string, 0, len(frames))
	for _, f := range frames {
		r.hub.Publish(f)
		ids = append(ids, f.Patient)
	}
	r.followUp(ids)
	if len(readings) == maxReadback {
		r.log.Warn("catching up hit its limit; dashboards may show gaps until reloaded", slog.Int("readings", maxReadback))
	}
}

func (r *Relay) receive(ctx context.Context, n Notice) {
	if n.Instance == r.instance {
		return
	}
	r.mu.Lock()
	r.lastHeard = maxTime(r.lastHeard, n.To)
	r.mu.Unlock()
	var watched []string
	for _, id := range n.Patients {
		if r.hub.Subscribers(id) > 0 {
			watched = append(watched, id)
		}
	}
	if len(watched) == 0 {
		return
	}
	readings, err := r.store.ReadingsReceivedSince(ctx, watched, n.From.Add(-time.Microsecond), maxReadback)
	if err != nil {
		r.log.Warn("reading back another instance's readings failed", slog.Any("err", err))
		return
	}
	kept := readings[:0]
	for _, rd := range readings {
		if !rd.ReceivedAt.After(n.To) {
			kept = append(kept, rd)
		}
	}
	frames := ReadingsFrames(kept)
	ids := make([]string, 0, len(frames))
	for _, f := range frames {
		r.hub.Publish(f)
		ids = append(ids, f.Patient)
	}
	r.followUp(ids)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
