package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/live"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// WebSocket timing and limits, as in gorilla/websocket's chat example.
const (
	writeWait      = 10 * time.Second
	pongWait       = 60 * time.Second
	pingPeriod     = pongWait * 9 / 10
	maxMessageSize = 64 << 10
	// queueSize bounds a dashboard's queue of frames; one that falls further behind is dropped
	// and catches up from the database when it reconnects.
	queueSize = 256
	// directSize bounds the replies and replays waiting to be written; their sender waits.
	directSize = 8
	// maxReplay bounds what a reconnecting dashboard is sent from the database.
	maxReplay = 20000
)

// upgrader leaves CheckOrigin at its default: the Origin must match the Host, so another site's
// page cannot open a dashboard connection with the user's cookie.
// Buffers are what an idle connection costs most: reading reuses the HTTP server's 4 KiB buffer,
// and writing borrows a buffer from a pool only while a frame is being written.
var upgrader = websocket.Upgrader{WriteBufferSize: 16384, WriteBufferPool: &sync.Pool{}}

// clientMessage is what a dashboard sends (docs/API.md "Live stream").
type clientMessage struct {
	Type     string   `json:"type"`
	Patients []string `json:"patients"`
	Since    string   `json:"since"`
}

// Live is the dashboards' stream (GET /live). The viewer is authenticated before the upgrade;
// every patient a dashboard subscribes to goes through the access policy, and a refused one gets
// an error frame (and an audit entry), never data.
func (h *Handlers) Live(c echo.Context) error {
	viewer, _ := auth.Viewer(c)
	s := &liveConn{h: h, viewer: viewer, direct: make(chan live.Frame, directSize),
		session: h.sessions.Token(c.Request().Context()),
		// Copied now: the echo context is recycled when this handler returns.
		requestID: c.Response().Header().Get(echo.HeaderXRequestID), remote: c.RealIP(), agent: c.Request().UserAgent()}
	conn, err := upgrader.Upgrade(c.Response(), c.Request(), nil)
	if err != nil {
		return nil // the upgrader has answered the client
	}
	s.conn = conn
	s.sub = h.hub.Subscribe(queueSize)
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Request().Context()))
	// The pumps get goroutines of their own and this handler returns, ending the HTTP server's
	// goroutine, whose stack grew deep in the middleware: an idle dashboard then holds two small
	// stacks instead of a large and a small one.
	go func() {
		defer s.sub.Close()
		written := make(chan struct{})
		go func() { s.writePump(ctx); cancel(); close(written) }()
		s.readPump(ctx)
		cancel()
		<-written
	}()
	return nil
}

// liveConn is one dashboard connection: one reader and one writer goroutine under one cancel.
type liveConn struct {
	h       *Handlers
	viewer  rpm.User
	session string
	conn    *websocket.Conn
	sub     *live.Subscription
	direct  chan live.Frame // replies and replays, written before queued frames

	requestID, remote, agent string
}

func (s *liveConn) readPump(ctx context.Context) {
	defer s.conn.Close()
	s.conn.SetReadLimit(maxMessageSize)
	_ = s.conn.SetReadDeadline(time.Now().Add(pongWait))
	s.conn.SetPongHandler(func(string) error { return s.conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for ctx.Err() == nil {
		var m clientMessage
		if err := s.conn.ReadJSON(&m); err != nil {
			return
		}
		switch m.Type {
		case "subscribe":
			onFreshStack(func() { s.subscribe(ctx, m) })
		case "unsubscribe":
			s.sub.Remove(m.Patients...)
		default:
			s.send(ctx, live.Frame{Type: "error", Message: `unknown message type; use "subscribe" or "unsubscribe"`})
		}
	}
}

// entry is an audit entry for this connection's viewer.
func (s *liveConn) entry(patientID string, allowed bool) rpm.AuditEntry {
	return rpm.AuditEntry{ActorKind: "user", ActorID: s.viewer.ID, ActorRole: roleList(s.viewer.Roles),
		Action: rpm.ActionLiveSubscribe, PatientID: patientID, ObjectType: "patient", ObjectID: patientID,
		Allowed: allowed, RequestID: s.requestID, RemoteAddr: s.remote, UserAgent: s.agent}
}

// visible is the set of patients the viewer may see now (one query, the access policy's own).
func (s *liveConn) visible(ctx context.Context) (map[string]bool, error) {
	list, err := s.h.store.VisiblePatients(ctx, s.viewer.ID, s.h.now())
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(list))
	for _, p := range list {
		set[p.ID] = true
	}
	return set, nil
}

// subscribe authorises the requested patients with one query, audits them in one batch,
// subscribes the allowed ones and refuses the rest, then replays what was stored since the given
// instant.
func (s *liveConn) subscribe(ctx context.Context, m clientMessage) {
	visible, err := s.visible(ctx)
	if err != nil {
		s.send(ctx, live.Frame{Type: "error", Message: "Vigil cannot open these patients just now; retry shortly."})
		return
	}
	var allowed []string
	var entries []rpm.AuditEntry
	for _, id := range m.Patients {
		if visible[id] {
			allowed = append(allowed, id)
			entries = append(entries, s.entry(id, true))
		}
	}
	if len(entries) > 0 {
		if err := s.h.store.RecordAudit(ctx, entries...); err != nil {
			s.send(ctx, live.Frame{Type: "error", Message: "Vigil cannot open these patients just now; retry shortly."})
			return
		}
	}
	for _, id := range m.Patients {
		if visible[id] {
			s.sub.Add(id) // at once, so that frames written after this point reflect it
			continue
		}
		s.sub.Remove(id)
		if err := s.h.store.RecordAudit(ctx, s.entry(id, false)); err != nil {
			s.h.log.Error("recording a denial in the audit trail failed", "err", err)
		}
		s.send(ctx, live.Frame{Type: "error", Patient: id, Message: "There is no such patient, or you may not see them."})
	}
	if m.Since != "" && len(allowed) > 0 {
		s.replay(ctx, allowed, m.Since)
	}
}

// replay sends what was stored after since, for patients just authorised.
func (s *liveConn) replay(ctx context.Context, patients []string, sinceText string) {
	since, err := time.Parse(time.RFC3339Nano, sinceText)
	if err != nil {
		s.send(ctx, live.Frame{Type: "error", Message: "since must be an RFC 3339 time."})
		return
	}
	readings, err := s.h.store.ReadingsReceivedSince(ctx, patients, since, maxReplay)
	if err != nil {
		s.h.log.Warn("replaying readings to a dashboard failed", slog.Any("err", err))
		s.send(ctx, live.Frame{Type: "error", Message: "Vigil could not replay what you missed; reload the page."})
		return
	}
	for _, f := range live.ReadingsFrames(readings) {
		s.send(ctx, f)
	}
	if len(readings) == maxReplay {
		s.send(ctx, live.Frame{Type: "error", Message: "Too much was missed to replay it all; reload the page."})
	}
	// Alerts too: every open one (the page may have missed its firing) and those that changed
	// meanwhile (resolved or acknowledged elsewhere), so the banner is right again.
	changed, err := s.h.store.AlertsOfPatients(ctx, patients, since)
	if err != nil {
		s.h.log.Warn("replaying alerts to a dashboard failed", slog.Any("err", err))
		s.send(ctx, live.Frame{Type: "error", Message: "Vigil could not replay what you missed; reload the page."})
		return
	}
	for _, a := range changed {
		s.send(ctx, live.Frame{Type: "alert", Patient: a.PatientID, Alert: live.AlertFrameOf(a)})
	}
}

func (s *liveConn) send(ctx context.Context, f live.Frame) {
	select {
	case s.direct <- f:
	case <-ctx.Done():
	}
}

// writePump writes replies and queued frames, coalescing a burst of frames of one patient into
// one, pings to keep the connection alive, and has the access policy applied again periodically
// (without stopping the frames). It ends when the subscription is dropped.
func (s *liveConn) writePump(ctx context.Context) {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	recheck := time.NewTicker(s.h.liveRecheck)
	defer recheck.Stop()
	checked, checking := make(chan accessCheck), false
	defer s.conn.Close()
	for {
		var batch []live.Frame
		select {
		case <-ctx.Done():
			return
		case <-s.sub.Dropped():
			code, text := websocket.CloseTryAgainLater, "too slow; reconnect"
			if s.h.hub.Closing() {
				code, text = websocket.CloseGoingAway, "server shutting down; reconnect"
			}
			s.write(websocket.CloseMessage, websocket.FormatCloseMessage(code, text))
			return
		case f := <-s.direct:
			batch = []live.Frame{f}
		case f := <-s.sub.Frames():
			batch = coalesce(*f, s.sub.Frames())
		case <-ping.C:
			if s.write(websocket.PingMessage, nil) != nil {
				return
			}
			continue
		case <-recheck.C:
			// The check's queries run beside the pump, so frames keep flowing meanwhile.
			if !checking {
				checking = true
				go func() {
					select {
					case checked <- s.recheck(ctx):
					case <-ctx.Done():
					}
				}()
			}
			continue
		case c := <-checked:
			checking = false
			if !s.applyCheck(c) {
				return
			}
			continue
		}
		for _, f := range batch {
			if f.Type != "error" && !s.sub.Has(f.Patient) {
				continue // unsubscribed, or access ended, while the frame waited
			}
			b, _ := json.Marshal(f)
			if s.write(websocket.TextMessage, b) != nil {
				return
			}
		}
	}
}

// accessCheck is what a recheck found: whether the connection must close, and the patients the
// viewer may no longer see (already removed from the subscription and audited).
type accessCheck struct {
	end     bool
	removed []string
}

// recheck applies the access policy again to a long-lived connection: a session that ended
// (sign-out, expiry), a disabled user, a share that expired or was revoked, a team the viewer left.
// It writes nothing: the write pump tells the dashboard. A database that cannot answer just now
// ends nothing.
func (s *liveConn) recheck(ctx context.Context) accessCheck {
	alive, err := s.h.sessions.Alive(ctx, s.session)
	if err != nil {
		return accessCheck{}
	}
	current, err := s.h.store.User(ctx, s.viewer.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return accessCheck{}
	}
	if !alive || err != nil || current.Disabled {
		return accessCheck{end: true}
	}
	visible, err := s.visible(ctx)
	if err != nil {
		return accessCheck{}
	}
	var removed []string
	for _, id := range s.sub.Patients() {
		if visible[id] {
			continue
		}
		s.sub.Remove(id)
		if err := s.h.store.RecordAudit(ctx, s.entry(id, false)); err != nil {
			s.h.log.Error("recording a denial in the audit trail failed", "err", err)
		}
		removed = append(removed, id)
	}
	return accessCheck{removed: removed}
}

// applyCheck tells the dashboard what a recheck found; it reports whether the connection goes on.
func (s *liveConn) applyCheck(c accessCheck) bool {
	if c.end {
		s.write(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "signed out"))
		return false
	}
	for _, id := range c.removed {
		b, _ := json.Marshal(live.Frame{Type: "error", Patient: id, Message: "You may no longer see this patient."})
		if s.write(websocket.TextMessage, b) != nil {
			return false
		}
	}
	return true
}

func (s *liveConn) write(kind int, data []byte) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeWait))
	return s.conn.WriteMessage(kind, data)
}

// coalesce takes a frame and whatever else is queued, merging frames of the same patient. Frames
// are shared with other dashboards, so merging copies, never appends in place.
func coalesce(first live.Frame, queue <-chan *live.Frame) []live.Frame {
	out := []live.Frame{first}
	index := map[string]int{first.Patient: 0}
	for range queueSize {
		select {
		case shared := <-queue:
			f := *shared
			if i, ok := index[f.Patient]; ok && f.Type == "readings" && out[i].Type == "readings" {
				out[i].Readings = slices.Concat(out[i].Readings, f.Readings)
				continue
			}
			index[f.Patient] = len(out)
			out = append(out, f)
		default:
			return out
		}
	}
	return out
}

// onFreshStack runs fn in a goroutine of its own and waits for it. The database work of a
// subscription or a recheck grows a goroutine's stack, and a pump that did it would keep the
// grown stack for as long as the dashboard stays connected; a goroutine that ends gives it back.
func onFreshStack(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}
