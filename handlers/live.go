package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/live"
	"github.com/vigil-rpm/vigil/rpm"
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
	// maxReplay bounds what a reconnecting dashboard is sent from the database.
	maxReplay = 20000
)

// upgrader leaves CheckOrigin at its default: the Origin must match the Host, so another site's
// page cannot open a dashboard connection with the user's cookie.
var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 16384}

// clientMessage is what a dashboard sends (API.md "Live stream").
type clientMessage struct {
	Type     string   `json:"type"`
	Patients []string `json:"patients"`
	Since    string   `json:"since"`
}

// Live is the dashboards' stream (GET /live). The viewer is authenticated before the upgrade;
// every patient a dashboard subscribes to goes through the one access gate, and a refused one gets
// an error frame (and an audit entry), never data.
func (h *Handlers) Live(c echo.Context) error {
	conn, err := upgrader.Upgrade(c.Response(), c.Request(), nil)
	if err != nil {
		return nil // the upgrader has answered the client
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Request().Context()))
	defer cancel()
	s := &liveConn{h: h, c: c, conn: conn, sub: h.hub.Subscribe(queueSize), direct: make(chan live.Frame, 64)}
	defer s.sub.Close()
	go func() { s.writePump(ctx); cancel() }()
	s.readPump(ctx)
	return nil
}

// liveConn is one dashboard connection: one reader and one writer goroutine under one cancel.
type liveConn struct {
	h      *Handlers
	c      echo.Context
	conn   *websocket.Conn
	sub    *live.Subscription
	direct chan live.Frame // replies and replays, written before queued frames
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
			s.subscribe(ctx, m)
		case "unsubscribe":
			s.sub.Remove(m.Patients...)
		default:
			s.send(ctx, live.Frame{Type: "error", Message: `unknown message type; use "subscribe" or "unsubscribe"`})
		}
	}
}

// subscribe authorises each patient, subscribes the allowed ones, and replays what was stored
// since the given instant.
func (s *liveConn) subscribe(ctx context.Context, m clientMessage) {
	var allowed []string
	for _, id := range m.Patients {
		if _, err := s.h.authorize(s.c, id, rpm.ActionLiveSubscribe, rpm.AccessShared); err != nil {
			s.send(ctx, live.Frame{Type: "error", Patient: id, Message: "There is no such patient, or you may not see them."})
			continue
		}
		if err := s.h.audit(s.c, rpm.ActionLiveSubscribe, id, "patient", id); err != nil {
			s.send(ctx, live.Frame{Type: "error", Patient: id, Message: "Vigil cannot open this patient just now."})
			continue
		}
		s.sub.Add(id) // at once, so that frames written after this point reflect it
		allowed = append(allowed, id)
	}
	if m.Since == "" || len(allowed) == 0 {
		return
	}
	since, err := time.Parse(time.RFC3339Nano, m.Since)
	if err != nil {
		s.send(ctx, live.Frame{Type: "error", Message: "since must be an RFC 3339 time."})
		return
	}
	readings, err := s.h.store.ReadingsReceivedSince(ctx, allowed, since, maxReplay)
	if err != nil {
		s.h.log.Warn("replaying readings to a dashboard failed", slog.Any("err", err))
		s.send(ctx, live.Frame{Type: "error", Message: "Vigil could not replay what you missed; reload the page."})
		return
	}
	for _, f := range live.ReadingsFrames(readings) {
		s.send(ctx, f)
	}
}

func (s *liveConn) send(ctx context.Context, f live.Frame) {
	select {
	case s.direct <- f:
	case <-ctx.Done():
	}
}

// writePump writes replies and queued frames, coalescing a burst of frames of one patient into
// one, and pings to keep the connection alive. It ends when the subscription is dropped.
func (s *liveConn) writePump(ctx context.Context) {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	recheck := time.NewTicker(s.h.liveRecheck)
	defer recheck.Stop()
	defer s.conn.Close()
	for {
		var batch []live.Frame
		queued := false
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
			batch, queued = coalesce(f, s.sub.Frames()), true
		case <-ping.C:
			if s.write(websocket.PingMessage, nil) != nil {
				return
			}
			continue
		case <-recheck.C:
			if !s.recheck(ctx) {
				return
			}
			continue
		}
		for _, f := range batch {
			if queued && !s.sub.Has(f.Patient) {
				continue // unsubscribed while the frame was queued
			}
			b, _ := json.Marshal(f)
			if s.write(websocket.TextMessage, b) != nil {
				return
			}
		}
	}
}

// recheck applies the access policy again to a long-lived connection: a share that expired or was
// revoked, a team the viewer left, stop the patient's frames; a disabled user's connection ends.
// It reports whether the connection may go on.
func (s *liveConn) recheck(ctx context.Context) bool {
	u, ok := auth.Viewer(s.c)
	if !ok {
		return false
	}
	if current, err := s.h.store.User(ctx, u.ID); err != nil || current.Disabled {
		s.write(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "signed out"))
		return false
	}
	visible, err := s.h.store.VisiblePatients(ctx, u.ID, s.h.now())
	if err != nil {
		return true // the database is away: keep what was authorised; try again next time
	}
	allowed := make(map[string]bool, len(visible))
	for _, p := range visible {
		allowed[p.ID] = true
	}
	for _, id := range s.sub.Patients() {
		if allowed[id] {
			continue
		}
		s.sub.Remove(id)
		s.h.auditDenial(s.c, rpm.ActionLiveSubscribe, id, "patient", id)
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
func coalesce(first live.Frame, queue <-chan live.Frame) []live.Frame {
	out := []live.Frame{first}
	index := map[string]int{first.Patient: 0}
	for range queueSize {
		select {
		case f := <-queue:
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
