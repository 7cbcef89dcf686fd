package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
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
func (b *benchRun) liveLatency(ctx context.Context, res *benchResult) error {
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
		b.runOpenLoop(ctx, b.max/2, warmup+b.opts.Size.Live)
		close(loadDone)
	}()
	sleepCtx(ctx, warmup)
	recording.Store(true)
	deadline := time.Now().Add(b.opts.Size.Live)
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
	seats = seats[:min(len(seats), b.opts.Size.Dashboards)]
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
	for range b.opts.Size.Alerts {
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

// idleConnections opens IdleConns dashboards that subscribe to their team's census and then stay
// quiet, and reports the process's resident memory growth per connection. The client ends are bare
// sockets handed to child processes (holdElsewhere), so the growth is Vigil's.
func (b *benchRun) idleConnections(ctx context.Context, res *benchResult) error {
	n := b.opts.Size.IdleConns
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(500 * time.Millisecond)
	before, stacksBefore := residentKiB(), goStacks()
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var seats []struct {
		cookie    string
		subscribe []byte
	}
	u, _ := url.Parse(b.base)
	var seatTeam []int
	for ti, t := range b.hospital.teams {
		ids := make([]string, len(t.patients))
		for i, p := range t.patients {
			ids[i] = b.patientIDs[p]
		}
		msg, _ := json.Marshal(map[string]any{"type": "subscribe", "patients": ids})
		for _, name := range t.clinicians {
			seatTeam = append(seatTeam, ti)
			var cookies []string
			for _, c := range b.clinicians[name].client.Jar.Cookies(u) {
				cookies = append(cookies, c.Name+"="+c.Value)
			}
			seats = append(seats, struct {
				cookie    string
				subscribe []byte
			}{strings.Join(cookies, "; "), maskedText(msg)})
		}
	}
	want := map[string]int{} // first patient of each team → idle dashboards subscribed to it
	for i := range n {
		want[b.patientIDs[b.hospital.teams[seatTeam[i%len(seats)]].patients[0]]]++
	}
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i := range n {
		g.Go(func() error {
			s := seats[i%len(seats)]
			c, err := dialIdle(b.addr, b.base, s.cookie, s.subscribe)
			conns[i] = c
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	holders, err := holdElsewhere(conns)
	defer func() {
		for _, h := range holders {
			_ = h.Process.Kill()
			_ = h.Wait()
		}
	}()
	if err != nil {
		return err
	}
	b.settle(want) // every subscription authorised, audited and added
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(500 * time.Millisecond)
	after, stacksAfter := residentKiB(), goStacks()
	res.add("memory per idle WebSocket", "KiB", float64(after-before)/float64(n), "≤ 20")
	res.Notes = append(res.Notes, fmt.Sprintf("connections: %d idle dashboards, each subscribed to %d patients; RSS %d → %d MiB, of which goroutine stacks %.1f KiB per connection",
		n, b.opts.Size.TeamSize, before/1024, after/1024, float64(stacksAfter-stacksBefore)/1024/float64(n)))
	return nil
}

// dialIdle opens a WebSocket to /live by hand — a bare socket and nothing else on the client side
// — and sends the subscription.
func dialIdle(addr, origin, cookie string, subscribe []byte) (net.Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	req := "GET /live HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: " + origin +
		"\r\nCookie: " + cookie + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	var head []byte
	buf := make([]byte, 512)
	for !bytes.Contains(head, []byte("\r\n\r\n")) {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		k, err := conn.Read(buf)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("WebSocket handshake: %w", err)
		}
		head = append(head, buf[:k]...)
	}
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101")) {
		conn.Close()
		return nil, fmt.Errorf("WebSocket handshake: %.40q", head)
	}
	if _, err := conn.Write(subscribe); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// maskedText frames payload as one masked client text message (RFC 6455 §5.2).
func maskedText(payload []byte) []byte {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	out := []byte{0x81}
	switch {
	case len(payload) < 126:
		out = append(out, 0x80|byte(len(payload)))
	case len(payload) < 1<<16:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(len(payload)))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(len(payload)))
	}
	out = append(out, key[:]...)
	for i, c := range payload {
		out = append(out, c^key[i%4])
	}
	return out
}

// residentKiB is this process's resident set size.
func residentKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

// holdersBatch is how many client sockets one holder process keeps open.
const holdersBatch = 1000

// holdElsewhere hands the client ends of the idle connections to child processes that only keep
// them open and answer the server's keep-alive (bash; else "sleep", and the server closes them
// after a minute), so that this process holds the server ends alone: its memory is then Vigil's,
// and its open files stay within the limit. Without "sleep" the sockets stay here.
func holdElsewhere(conns []net.Conn) ([]*exec.Cmd, error) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		return nil, nil
	}
	bash, _ := exec.LookPath("bash")
	var holders []*exec.Cmd
	for start := 0; start < len(conns); start += holdersBatch {
		var files []*os.File
		for _, c := range conns[start:min(len(conns), start+holdersBatch)] {
			f, err := c.(*net.TCPConn).File()
			if err != nil {
				return holders, err
			}
			files = append(files, f)
		}
		cmd := exec.Command(sleep, "3600")
		if bash != "" {
			// An unsolicited, masked, empty pong on each socket every 20 s (RFC 6455 §5.5.3) keeps
			// the server's read deadline (60 s) from closing the idle dashboards.
			cmd = exec.Command(bash, "-c", fmt.Sprintf(`while :; do for ((fd=3; fd<%d; fd++)); do printf '\212\200\000\000\000\000' >&$fd; done; sleep 20; done`, 3+len(files)))
		}
		cmd.ExtraFiles = files
		err := cmd.Start()
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			return holders, err
		}
		holders = append(holders, cmd)
		for i := start; i < min(len(conns), start+holdersBatch); i++ {
			conns[i].Close()
			conns[i] = nil
		}
	}
	return holders, nil
}

// goStacks is the memory held by goroutine stacks, in bytes.
func goStacks() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// settle waits until the hub holds every idle dashboard's subscription (each is authorised and
// audited first), at most two minutes.
func (b *benchRun) settle(want map[string]int) {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		done := true
		for p, n := range want {
			if b.app.hub.Subscribers(p) < n {
				done = false
				break
			}
		}
		if done {
			return
		}
	}
}
