package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sync/errgroup"
)

// idleConnections opens IdleConns dashboards that subscribe to their team's census and then stay
// quiet, and reports the process's resident memory growth per connection. The client ends are bare
// sockets handed to child processes (holdElsewhere), so the growth is Vigil's.
func (b *benchRun) idleConnections(ctx context.Context, res *Result) error {
	n := b.size.IdleConns
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
		n, b.size.TeamSize, before/1024, after/1024, float64(stacksAfter-stacksBefore)/1024/float64(n)))
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
	self, err := procfs.Self()
	if err != nil {
		return 0
	}
	status, err := self.NewStatus()
	if err != nil {
		return 0
	}
	return int64(status.VmRSS / 1024)
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
			if b.vigil.Subscribers(p) < n {
				done = false
				break
			}
		}
		if done {
			return
		}
	}
}
