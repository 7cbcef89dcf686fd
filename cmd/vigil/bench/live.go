package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sync/errgroup"
)

// benchDashboard is one clinician's live census: a WebSocket to /live subscribed to the patients of
// the clinician's team. Its reader times every reading that arrives from the reading's own time
// (set by the generator when it posts), and hands alert frames to whoever waits for one.
type benchDashboard struct {
	conn    *websocket.Conn
	samples []int64 // microseconds, while recording
	alerts  chan alertArrival
	closed  atomic.Bool

	lastAlert time.Time // when the awaited alert frame arrived
}

type alertArrival struct {
	at        time.Time
	state, id string
}

// liveLatency connects the dashboards, runs intake at half its maximum, and measures reading →
// screen on every dashboard and alert → screen on one.
func (b *benchRun) liveLatency(ctx context.Context, res *Result) error {
	var recording atomic.Bool
	dashboards, err := b.openDashboards(ctx, &recording)
	if err != nil {
		return err
	}
	defer func() {
		for _, d := range dashboards {
			d.conn.Close()
		}
	}()
	b.opts.progress("%d dashboards connected; intake at %.0f readings/s", len(dashboards), b.max/2)
	warmup := 2 * time.Second
	meter, err := b.startCPU("live: half intake, dashboards", "")
	if err != nil {
		return err
	}
	loadDone := make(chan struct{})
	go func() {
		b.runOpenLoop(ctx, b.max/2, warmup+b.size.Live)
		close(loadDone)
	}()
	sleepCtx(ctx, warmup)
	recording.Store(true)
	deadline := time.Now().Add(b.size.Live)
	alertLat, err := b.alertLatency(ctx, dashboards[0])
	if err != nil {
		return err
	}
	sleepCtx(ctx, time.Until(deadline))
	recording.Store(false)
	<-loadDone
	res.CPU = append(res.CPU, meter.stop())
	var all []int64
	dropped := 0
	for _, d := range dashboards {
		all = append(all, d.samples...)
		if d.closed.Load() {
			dropped++
		}
	}
	if len(all) == 0 {
		return errors.New("no reading reached a dashboard")
	}
	p := percentiles(all)
	goal := fmt.Sprintf("%d dashboards, intake at %.0f/s", len(dashboards), b.max/2)
	res.add("reading → screen p50", "ms", p.p50, goal)
	res.add("reading → screen p99", "ms", p.p99, "≤ 100")
	res.add("reading → screen max", "ms", p.max, "")
	a := percentiles(alertLat)
	res.add("alert → screen p50", "ms", a.p50, "")
	res.add("alert → screen p99", "ms", a.p99, "≤ 250")
	res.Notes = append(res.Notes, fmt.Sprintf("live: %d readings timed on %d dashboards (%d dropped by the server as too slow); %d alerts timed",
		len(all), len(dashboards), dropped, len(alertLat)))
	return nil
}

// openDashboards connects one dashboard per bench clinician, up to the run's number.
func (b *benchRun) openDashboards(ctx context.Context, recording *atomic.Bool) ([]*benchDashboard, error) {
	type seat struct {
		user     string
		patients []string
	}
	var seats []seat
	for _, t := range b.hospital.teams {
		ids := make([]string, len(t.patients))
		for i, p := range t.patients {
			ids[i] = b.patientIDs[p]
		}
		for _, u := range t.clinicians {
			seats = append(seats, seat{u, ids})
		}
	}
	seats = seats[:min(len(seats), b.size.Dashboards)]
	dashboards := make([]*benchDashboard, len(seats))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, s := range seats {
		g.Go(func() error {
			d, err := b.dialDashboard(gctx, b.clinicians[s.user], s.patients)
			dashboards[i] = d
			return err
		})
	}
	if err := g.Wait(); err != nil {
		for _, d := range dashboards {
			if d != nil {
				d.conn.Close()
			}
		}
		return nil, err
	}
	asLoad(ctx, func(context.Context) {
		for _, d := range dashboards {
			go d.read(recording)
		}
	})
	return dashboards, nil
}

func (b *benchRun) dialDashboard(ctx context.Context, c *benchClient, patients []string) (*benchDashboard, error) {
	dialer := websocket.Dialer{Jar: c.client.Jar, HandshakeTimeout: 10 * time.Second}
	conn, _, err := dialer.DialContext(ctx, "ws"+strings.TrimPrefix(b.base, "http")+"/live", http.Header{"Origin": {b.base}})
	if err != nil {
		return nil, fmt.Errorf("dial /live: %w", err)
	}
	if err := conn.WriteJSON(map[string]any{"type": "subscribe", "patients": patients}); err != nil {
		conn.Close()
		return nil, err
	}
	return &benchDashboard{conn: conn, alerts: make(chan alertArrival, 64)}, nil
}

var (
	readingsFrame = []byte(`{"type":"readings"`)
	alertFrame    = []byte(`{"type":"alert"`)
	atKey         = []byte(`"at":"`)
	stateKey      = []byte(`"state":"`)
	alertIDKey    = []byte(`"alert":{"id":"`)
	glucoseKey    = []byte(`"code":"2339-0"`)
)

// read reads frames until the connection ends, timing readings while recording.
func (d *benchDashboard) read(recording *atomic.Bool) {
	defer d.closed.Store(true)
	var buf bytes.Buffer
	for {
		_, r, err := d.conn.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		now := time.Now()
		frame := buf.Bytes()
		switch {
		case bytes.HasPrefix(frame, readingsFrame) && recording.Load():
			for rest := frame; ; {
				i := bytes.Index(rest, atKey)
				if i < 0 {
					break
				}
				rest = rest[i+len(atKey):]
				j := bytes.IndexByte(rest, '"')
				if at, err := time.Parse(time.RFC3339Nano, string(rest[:j])); err == nil {
					d.samples = append(d.samples, now.Sub(at).Microseconds())
				}
				rest = rest[j:]
			}
		case bytes.HasPrefix(frame, alertFrame) && bytes.Contains(frame, glucoseKey):
			i := bytes.Index(frame, stateKey)
			if i < 0 {
				continue
			}
			state, _, _ := bytes.Cut(frame[i+len(stateKey):], []byte(`"`))
			var id []byte
			if j := bytes.Index(frame, alertIDKey); j >= 0 {
				id, _, _ = bytes.Cut(frame[j+len(alertIDKey):], []byte(`"`))
			}
			select {
			case d.alerts <- alertArrival{at: now, state: string(state), id: string(id)}:
			default:
			}
		}
	}
}

// alertLatency posts, Alerts times, a glucose of 58 mg/dL (below the default rule's 70, a critical
// limit that fires at once) and waits for the alert frame on the dashboard; then a normal glucose,
// and a clinician resolves the alert through the API (a high alert stays latched until someone
// does), so the next low one opens a new alert.
func (b *benchRun) alertLatency(ctx context.Context, d *benchDashboard) ([]int64, error) {
	c := newIntakeConn(b.addr)
	defer c.close()
	clinician := b.clinicians[b.hospital.teams[0].clinicians[0]]
	var lat []int64
	var body []byte
	for range b.size.Alerts {
		start := time.Now()
		for _, value := range []string{"58", "95"} {
			body = appendGlucose(body[:0], b.glucometer, value, time.Now())
			if ok, err := c.post(b.glucometer, body, 1); err != nil || !ok {
				return nil, fmt.Errorf("posting a glucose reading failed (%v)", err)
			}
			if value != "58" {
				break
			}
			id, err := waitForAlert(ctx, d, "firing")
			if err != nil {
				return nil, err
			}
			lat = append(lat, d.lastAlert.Sub(start).Microseconds())
			if err := clinician.postJSON(ctx, "/api/v1/alerts/"+id+"/resolve", map[string]string{"note": "vigil bench"}, 0, nil); err != nil {
				return nil, fmt.Errorf("resolving the bench's alert: %w", err)
			}
		}
		if _, err := waitForAlert(ctx, d, "resolved"); err != nil {
			return nil, err
		}
	}
	return lat, nil
}

// waitForAlert waits for an alert frame in state on the dashboard and returns the alert's id.
func waitForAlert(ctx context.Context, d *benchDashboard, state string) (string, error) {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case a := <-d.alerts:
			if a.state == state {
				d.lastAlert = a.at
				return a.id, nil
			}
		case <-timeout:
			return "", fmt.Errorf("no %s alert frame within 10 s", state)
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func appendGlucose(buf []byte, d *benchDevice, value string, at time.Time) []byte {
	buf = append(buf, `{"readings":[{"id":"g`...)
	buf = strconv.AppendInt(buf, atomic.AddInt64(&d.seq, 1), 10)
	buf = append(buf, `","code":"2339-0","value":`...)
	buf = append(buf, value...)
	buf = append(buf, `,"unit":"mg/dL","at":"`...)
	buf = at.UTC().AppendFormat(buf, time.RFC3339Nano)
	return append(buf, `"}]}`...)
}
