// Package live streams what happens to patients to the clinicians' dashboards that watch them.
//
// A Frame is one message of the live stream (docs/API.md): a patient's new readings, an alert's
// change, the patient's current NEWS2, or an error. The Hub, keyed by patient, delivers frames to
// subscriptions that only ever hold patients the caller has authorised; each has a bounded queue,
// and publishers never block — a dashboard that cannot keep up is dropped and catches up from the
// database when it reconnects. The Relay feeds the hub on every instance: readings this instance
// stored, at once; readings other instances stored, read back from the database when a Bus notice
// (PGBus: PostgreSQL LISTEN/NOTIFY) announces them; each followed by the patient's new NEWS2; and
// every committed alert change, from the store's alert notifications.
package live

import (
	"sync"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
)

// Frame is one message to a dashboard, as docs/API.md's live stream defines it.
type Frame struct {
	Type     string         `json:"type"` // "readings", "alert" or "error"
	Patient  string         `json:"patient,omitempty"`
	Readings []ReadingFrame `json:"readings,omitempty"`
	NEWS2    *ScoreFrame    `json:"news2,omitempty"`
	Alert    *AlertFrame    `json:"alert,omitempty"`
	Message  string         `json:"message,omitempty"`
}

// AlertFrame is an alert on the wire (frame type "alert", and the JSON API's alert object). Times
// that have not happened are omitted.
type AlertFrame struct {
	ID              string         `json:"id"`
	Patient         string         `json:"patient"`
	Rule            string         `json:"rule"`
	Kind            rpm.RuleKind   `json:"kind"`
	Code            string         `json:"code,omitempty"`
	Device          string         `json:"device,omitempty"`
	Direction       rpm.Direction  `json:"direction,omitempty"`
	Severity        rpm.Severity   `json:"severity"`
	State           rpm.AlertState `json:"state"`
	Tier            int            `json:"tier"`
	Summary         string         `json:"summary"`
	OpenedAt        time.Time      `json:"opened_at"`
	LastTriggeredAt time.Time      `json:"last_triggered_at"`
	TriggerCount    int            `json:"trigger_count"`
	AcknowledgedAt  *time.Time     `json:"acknowledged_at,omitempty"`
	SnoozedUntil    *time.Time     `json:"snoozed_until,omitempty"`
	ResolvedAt      *time.Time     `json:"resolved_at,omitempty"`
	Actionable      *bool          `json:"actionable,omitempty"`
	// Category is "clinical" or "technical" (about a device); SourceDevice the device whose
	// readings raised it; RecoveredAt when its condition cleared while it stayed latched for an
	// acknowledgement; Late that readings which arrived late raised it; With who it is with now.
	Category     string     `json:"category"`
	SourceDevice string     `json:"source_device,omitempty"`
	RecoveredAt  *time.Time `json:"recovered_at,omitempty"`
	Late         bool       `json:"late,omitempty"`
	With         []string   `json:"with"`
}

// AlertFrameOf is an alert as the wire carries it.
func AlertFrameOf(a rpm.Alert) *AlertFrame {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return &AlertFrame{ID: a.ID, Patient: a.PatientID, Rule: a.RuleID, Kind: a.RuleKind, Code: a.Code, Device: a.DeviceID,
		Direction: a.Direction, Severity: a.Severity, State: a.State, Tier: a.Tier, Summary: a.Summary,
		OpenedAt: a.OpenedAt, LastTriggeredAt: a.LastTriggeredAt, TriggerCount: a.TriggerCount,
		AcknowledgedAt: opt(a.AcknowledgedAt), SnoozedUntil: opt(a.SnoozedUntil), ResolvedAt: opt(a.ResolvedAt),
		Actionable: a.Actionable, Category: category(a), SourceDevice: a.SourceDeviceID, RecoveredAt: opt(a.RecoveredAt),
		Late: a.Late, With: append([]string{}, a.With...)}
}

// category is an alert's category on the wire.
func category(a rpm.Alert) string {
	if a.Technical() {
		return "technical"
	}
	return "clinical"
}

// ScoreFrame is a patient's current NEWS2 (frame type "news2"); partial means some parameter was
// missing or stale (named in missing), incomplete that two or more were, no_data that nothing
// was measured.
type ScoreFrame struct {
	Score      int      `json:"score"`
	Band       string   `json:"band"`
	Partial    bool     `json:"partial"`
	Incomplete bool     `json:"incomplete"`
	NoData     bool     `json:"no_data"`
	Missing    []string `json:"missing"`
}

// ScoreFrameOf is a NEWS2 score as the wire carries it.
func ScoreFrameOf(n alerts.NEWS2) *ScoreFrame {
	f := &ScoreFrame{Score: n.Score, Band: string(n.Band), Partial: n.Partial, Incomplete: n.Incomplete, NoData: n.NoData,
		Missing: append([]string{}, n.Missing()...)}
	if n.NoData {
		f.Band = ""
	}
	return f
}

// ReadingFrame is one reading on the wire, in its canonical unit. Device and ID (the device's own
// id of the reading) identify it: the same reading may come in more than one frame — a replay
// after a reconnect repeats what was sent live, and the page's first replay what it rendered — and
// a dashboard shows it once by them. Two devices can measure the same code at the same instant, so
// code and time do not identify a reading.
type ReadingFrame struct {
	Device string    `json:"device"`
	ID     string    `json:"id"`
	Code   string    `json:"code"`
	Value  float64   `json:"value"`
	Unit   string    `json:"unit"`
	At     time.Time `json:"at"`
}

// ReadingsFrames groups readings by patient into one frame each, in the order patients first
// appear.
func ReadingsFrames(readings []rpm.Reading) []Frame {
	var frames []Frame
	index := map[string]int{}
	for _, r := range readings {
		i, ok := index[r.PatientID]
		if !ok {
			i = len(frames)
			index[r.PatientID] = i
			frames = append(frames, Frame{Type: "readings", Patient: r.PatientID})
		}
		frames[i].Readings = append(frames[i].Readings, ReadingFrame{Device: r.DeviceID, ID: r.DeviceReadingID,
			Code: r.Code, Value: r.Value, Unit: r.Unit, At: r.EffectiveAt})
	}
	return frames
}

// Hub delivers frames to the subscriptions of each frame's patient.
type Hub struct {
	mu      sync.RWMutex
	topics  map[string]map[*Subscription]struct{}
	all     map[*Subscription]struct{}
	closing bool
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{topics: map[string]map[*Subscription]struct{}{}, all: map[*Subscription]struct{}{}}
}

// Subscription is one dashboard's interest in some patients. Its queue is bounded; when a frame
// does not fit, the subscription is dropped (Dropped is closed) rather than slow anyone down. The
// queue holds pointers to frames shared by every subscriber (never changed once published): an
// idle dashboard's queue of 256 costs 2 KiB, not the 22 KiB of 256 frames by value.
type Subscription struct {
	hub      *Hub
	queue    chan *Frame
	dropped  chan struct{}
	once     sync.Once
	patients map[string]struct{} // guarded by hub.mu
}

// Subscribe opens a subscription whose queue holds up to size frames. It holds no patients until
// Add is called with patients the caller has authorised.
func (h *Hub) Subscribe(size int) *Subscription {
	s := &Subscription{hub: h, queue: make(chan *Frame, size), dropped: make(chan struct{}), patients: map[string]struct{}{}}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		s.end()
	} else {
		h.all[s] = struct{}{}
	}
	return s
}

// CloseAll ends every subscription and refuses new ones: at shutdown, dashboards are told to go
// away (and reconnect, to this instance restarted or to another) instead of waiting on a server
// that will send nothing more.
func (h *Hub) CloseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closing = true
	for s := range h.all {
		s.end()
	}
}

// Closing reports whether the hub is shutting down.
func (h *Hub) Closing() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.closing
}

// Add makes the subscription receive the frames of these patients. The caller must have checked,
// for each one, that the viewer may see them.
func (s *Subscription) Add(patientIDs ...string) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed() {
		return
	}
	for _, id := range patientIDs {
		if h.topics[id] == nil {
			h.topics[id] = map[*Subscription]struct{}{}
		}
		h.topics[id][s] = struct{}{}
		s.patients[id] = struct{}{}
	}
}

// Remove stops the frames of these patients.
func (s *Subscription) Remove(patientIDs ...string) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range patientIDs {
		h.remove(s, id)
	}
}

func (h *Hub) remove(s *Subscription, patientID string) {
	delete(s.patients, patientID)
	if subs := h.topics[patientID]; subs != nil {
		delete(subs, s)
		if len(subs) == 0 {
			delete(h.topics, patientID)
		}
	}
}

// Patients lists the patients the subscription holds.
func (s *Subscription) Patients() []string {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	ids := make([]string, 0, len(s.patients))
	for id := range s.patients {
		ids = append(ids, id)
	}
	return ids
}

// Has reports whether the subscription holds a patient.
func (s *Subscription) Has(patientID string) bool {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	_, ok := s.patients[patientID]
	return ok
}

// Frames is the subscription's queue. Frames are shared with other subscriptions: read, never
// change them.
func (s *Subscription) Frames() <-chan *Frame { return s.queue }

// Dropped is closed when the subscription ends: closed by its owner, or dropped for falling
// behind.
func (s *Subscription) Dropped() <-chan struct{} { return s.dropped }

func (s *Subscription) closed() bool {
	select {
	case <-s.dropped:
		return true
	default:
		return false
	}
}

// Close ends the subscription and releases its patients.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	s.end()
}

// end releases the subscription; the caller holds hub.mu.
func (s *Subscription) end() {
	s.once.Do(func() {
		for id := range s.patients {
			s.hub.remove(s, id)
		}
		delete(s.hub.all, s)
		close(s.dropped)
	})
}

// Publish delivers a frame to every subscription of its patient, without ever waiting: a
// subscription whose queue is full is dropped.
func (h *Hub) Publish(f Frame) {
	var slow []*Subscription
	shared := &f
	h.mu.RLock()
	for s := range h.topics[f.Patient] {
		select {
		case s.queue <- shared:
		default:
			slow = append(slow, s)
		}
	}
	h.mu.RUnlock()
	if len(slow) > 0 {
		h.mu.Lock()
		for _, s := range slow {
			s.end()
		}
		h.mu.Unlock()
	}
}

// Watched lists the patients at least one subscription holds.
func (h *Hub) Watched() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ids := make([]string, 0, len(h.topics))
	for id := range h.topics {
		ids = append(ids, id)
	}
	return ids
}

// Subscribers is how many subscriptions hold a patient (for tests and metrics).
func (h *Hub) Subscribers(patientID string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.topics[patientID])
}
