package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxLoadConns bounds the connections the closed loop opens: beyond it, devices share them, as
// devices behind a gateway do (both ends of each are in this process, and open files are limited).
const maxLoadConns = 4000

// readingsPerRequest is how many readings each simulated request carries.
const readingsPerRequest = 5

// accepted is what an answer says when n readings were all accepted.
var accepted = [readingsPerRequest + 1][]byte{}

func init() {
	for n := range accepted {
		accepted[n] = []byte(`"accepted":` + strconv.Itoa(n) + `,`)
	}
}

// vitals are what the bench's bedside monitors send: normal values, so that no rule fires.
var vitals = [readingsPerRequest]struct{ code, value, unit string }{
	{"8867-4", "72", "/min"}, {"59408-5", "97", "%"}, {"9279-1", "16", "/min"}, {"8310-5", "36.8", "Cel"}, {"8480-6", "121", "mm[Hg]"},
}

// intakeConn is one keep-alive HTTP/1.1 connection posting readings: a hand-rolled client, so
// that the load generator spends its CPU on little more than the bytes it writes and reads.
type intakeConn struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
	req  []byte // reused request buffer
	resp []byte // reused response body buffer
}

func newIntakeConn(addr string) *intakeConn { return &intakeConn{addr: addr} }

// post sends one request of n readings for the device and reports whether all were accepted.
func (c *intakeConn) post(d *benchDevice, body []byte, n int) (bool, error) {
	if c.conn == nil {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return false, err
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 4096)
	}
	c.req = append(c.req[:0], "POST /api/v1/readings HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.addr...)
	c.req = append(c.req, "\r\nAuthorization: Bearer "...)
	c.req = append(c.req, d.token...)
	c.req = append(c.req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	if _, err := c.conn.Write(c.req); err != nil {
		c.close()
		return false, err
	}
	status, err := c.readResponse()
	if err != nil {
		c.close()
		return false, err
	}
	return status == 200 && bytes.Contains(c.resp, accepted[n]), nil
}

func (c *intakeConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// readResponse reads one response (Content-Length or chunked) into c.resp.
func (c *intakeConn) readResponse() (int, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 {
		return 0, errors.New("short status line")
	}
	status, _ := strconv.Atoi(string(line[9:12]))
	length, chunked := -1, false
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(bytes.TrimSpace(h), []byte(":")); ok {
			switch {
			case bytes.EqualFold(k, []byte("Content-Length")):
				length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			case bytes.EqualFold(k, []byte("Transfer-Encoding")):
				chunked = bytes.Contains(v, []byte("chunked"))
			}
		}
	}
	c.resp = c.resp[:0]
	if !chunked {
		return status, c.readN(max(length, 0))
	}
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(h)), 16, 32)
		if err != nil {
			return 0, err
		}
		if err := c.readN(int(n)); err != nil {
			return 0, err
		}
		if _, err := c.r.Discard(2); err != nil {
			return 0, err
		}
		if n == 0 {
			return status, nil
		}
	}
}

func (c *intakeConn) readN(n int) error {
	start := len(c.resp)
	c.resp = slices.Grow(c.resp, n)[:start+n]
	_, err := io.ReadFull(c.r, c.resp[start:])
	return err
}

// appendBody appends a request of readingsPerRequest vitals with fresh ids, effective at at (to the
// nanosecond, which dashboards use to time the reading's way to the screen).
func appendBody(buf []byte, d *benchDevice, at time.Time) []byte {
	seq := atomic.AddInt64(&d.seq, 1)
	buf = append(buf, `{"readings":[`...)
	for k, v := range vitals {
		if k > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"id":"b`...)
		buf = strconv.AppendInt(buf, seq, 10)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(k), 10)
		buf = append(buf, `","code":"`...)
		buf = append(buf, v.code...)
		buf = append(buf, `","value":`...)
		buf = append(buf, v.value...)
		buf = append(buf, `,"unit":"`...)
		buf = append(buf, v.unit...)
		buf = append(buf, `","at":"`...)
		buf = at.UTC().AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, `"}`...)
	}
	return append(buf, `]}`...)
}

// asLoad runs fn with the profiler label that marks the load generators' CPU.
func asLoad(ctx context.Context, fn func(context.Context)) {
	pprof.Do(ctx, pprof.Labels(loadLabel, loadLabelValue), fn)
}

// closedLoop has every device post batch after batch, each as soon as the last was answered,
// for warmup and then for d, and returns the readings per second accepted during d.
func (b *benchRun) closedLoop(ctx context.Context, res *Result) error {
	var done, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	conns := make(chan *intakeConn, min(len(b.devices), maxLoadConns))
	for range cap(conns) {
		conns <- newIntakeConn(b.addr)
	}
	defer func() {
		for range cap(conns) {
			(<-conns).close()
		}
	}()
	asLoad(ctx, func(ctx context.Context) {
		for _, d := range b.devices {
			wg.Go(func() {
				var body []byte
				for {
					select {
					case <-stop:
						return
					default:
					}
					body = appendBody(body[:0], d, time.Now())
					c := <-conns
					ok, err := c.post(d, body, readingsPerRequest)
					conns <- c
					switch {
					case ok:
						done.Add(readingsPerRequest)
					case err != nil:
						failed.Add(1)
						time.Sleep(10 * time.Millisecond)
					default:
						failed.Add(1)
					}
				}
			})
		}
	})
	sleepCtx(ctx, b.size.Warmup)
	meter, err := b.startCPU("intake closed loop", b.opts.CPUProfile)
	if err != nil {
		close(stop)
		wg.Wait()
		return err
	}
	start, n0, f0 := time.Now(), done.Load(), failed.Load()
	sleepCtx(ctx, b.size.Closed)
	elapsed, n1, f1 := time.Since(start), done.Load(), failed.Load()
	res.CPU = append(res.CPU, meter.stop())
	close(stop)
	wg.Wait()
	if n1 == n0 {
		return fmt.Errorf("no readings were accepted (%d requests failed)", f1-f0)
	}
	b.max = float64(n1-n0) / elapsed.Seconds()
	f := Figure{Name: "intake, closed loop", Unit: "readings/s", Value: b.max, Goal: "≥ 50000"}
	if b.baselineRate > 0 {
		r := b.max / b.baselineRate
		f.Ratio = &r
		f.Goal += "; ratio ≥ 0.15"
	}
	res.Figures = append(res.Figures, f)
	if f1 > f0 {
		res.Notes = append(res.Notes, fmt.Sprintf("intake closed loop: %d requests not fully accepted", f1-f0))
	}
	return nil
}

// openLoop posts at half the closed loop's rate on a fixed schedule, whatever the answers, and
// reports acknowledgement latency measured from each request's scheduled time (so a stall is
// not hidden by the generator waiting).
func (b *benchRun) openLoop(ctx context.Context, res *Result) error {
	meter, err := b.startCPU("intake open loop", "")
	if err != nil {
		return err
	}
	lat, failed := b.runOpenLoop(ctx, b.max/2, b.size.Open)
	res.CPU = append(res.CPU, meter.stop())
	if len(lat) == 0 {
		return errors.New("no request was answered")
	}
	p := percentiles(lat)
	goal := fmt.Sprintf("at %.0f readings/s", b.max/2)
	res.add("ack latency p50", "ms", p.p50, goal)
	res.add("ack latency p99", "ms", p.p99, goal)
	if failed > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("intake open loop: %d requests not fully accepted", failed))
	}
	return nil
}

// runOpenLoop posts rate readings/s for d on a fixed schedule and returns each answered request's
// latency in microseconds.
func (b *benchRun) runOpenLoop(ctx context.Context, rate float64, d time.Duration) ([]int64, int64) {
	perSecond := rate / readingsPerRequest
	type job struct {
		due time.Time
		dev *benchDevice
	}
	jobs := make(chan job, 1<<16)
	var mu sync.Mutex
	var all []int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	workers := min(len(b.devices), max(64, int(perSecond/10)))
	asLoad(ctx, func(context.Context) {
		for range workers {
			wg.Go(func() {
				c := newIntakeConn(b.addr)
				defer c.close()
				var body []byte
				var mine []int64
				for j := range jobs {
					body = appendBody(body[:0], j.dev, time.Now())
					ok, _ := c.post(j.dev, body, readingsPerRequest)
					if !ok {
						failed.Add(1)
						continue
					}
					mine = append(mine, time.Since(j.due).Microseconds())
				}
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			})
		}
		start := time.Now()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		sent, next := 0, 0
		for now := range tick.C {
			elapsed := now.Sub(start)
			if elapsed >= d || ctx.Err() != nil {
				break
			}
			for due := int(elapsed.Seconds() * perSecond); sent < due; sent++ {
				at := start.Add(time.Duration(float64(sent) / perSecond * float64(time.Second)))
				select {
				case jobs <- job{due: at, dev: b.devices[next]}:
				default:
					failed.Add(1) // the generator itself fell behind by 65,536 requests
				}
				next = (next + 1) % len(b.devices)
			}
		}
		close(jobs)
	})
	wg.Wait()
	return all, failed.Load()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
