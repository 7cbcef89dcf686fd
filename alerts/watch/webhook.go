package watch

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-rpm/vigil/store"
)

// Sending alert events to the care teams' webhooks: timing and limits.
const (
	// webhookTimeout bounds one attempt, from connecting to reading the answer.
	webhookTimeout = 10 * time.Second
	// webhookLease is how long a claimed delivery stays ours before another instance may take it
	// again; it outlasts an attempt, so deliveries are sent once unless an instance dies mid-way.
	webhookLease = time.Minute
	// webhookBatch is how many due deliveries one instance claims, and sends in parallel, at a time.
	webhookBatch = 20
	// defaultWebhookPoll is how often due deliveries are looked for when nothing wakes the sender.
	defaultWebhookPoll = 2 * time.Second
	// The wait before attempt n+1 is firstRetry·2ⁿ⁻¹, at most maxRetry, plus up to 10 % jitter:
	// 10 s, 20 s, 40 s … 30 min. After WebhookMaxAttempts attempts (about 2 h 20 min in all) the
	// delivery is given up.
	webhookFirstRetry  = 10 * time.Second
	webhookMaxRetry    = 30 * time.Minute
	WebhookMaxAttempts = 12
	// webhookAnswerLimit is how much of an answer's body is read (and thrown away) so the
	// connection can be reused.
	webhookAnswerLimit = 64 << 10
)

// Signature is the X-Vigil-Signature header of a delivery: "sha256=" and the hex HMAC-SHA256,
// keyed with the webhook's secret, of the X-Vigil-Timestamp header's value, ".", and the body.
func Signature(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// webhookBackoff is the wait after a failed attempt number attempt (from 1), before jitter.
func webhookBackoff(attempt int) time.Duration {
	d := webhookFirstRetry
	for range attempt - 1 {
		if d >= webhookMaxRetry {
			break
		}
		d *= 2
	}
	return min(d, webhookMaxRetry)
}

// RunWebhooks sends due webhook deliveries until ctx ends. It looks every WebhookPoll, and at once
// when any instance commits a change to alerts (which is when deliveries are queued). Any number
// of instances may run it: each delivery is claimed by one of them.
func (e *Engine) RunWebhooks(ctx context.Context) {
	client := webhookClient(e.opts.HTTPClient)
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	var listening sync.WaitGroup
	defer listening.Wait()
	listening.Go(func() { _ = e.store.Listen(ctx, store.AlertsChannel, func(string) { poke() }, poke) })
	tick := time.NewTicker(cmp.Or(e.opts.WebhookPoll, defaultWebhookPoll))
	defer tick.Stop()
	for {
		// A full batch means more may be waiting: go on at once.
		for full := true; full && ctx.Err() == nil; {
			full = e.sendDue(ctx, client) == webhookBatch
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-wake:
		}
	}
}

// webhookTransport dials only addresses a hospital's systems may have: never link-local ones
// (169.254.0.0/16 holds cloud providers' metadata services, with their credentials) nor the
// unspecified address, whatever the URL's host resolves to at the moment of sending. Private
// networks are allowed — that is where paging systems live — and loopback for testing, as the
// admin page says.
var webhookTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: webhookTimeout, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() {
			return errors.New("webhook address not allowed (link-local, multicast or unspecified)")
		}
		return nil
	}}
	t.DialContext = dialer.DialContext
	t.Proxy = nil
	return t
}()

// webhookClient is the client deliveries are sent with: the one given, or one with a timeout, and
// in either case one that never follows a redirect (the answer to a redirect is a failure).
func webhookClient(given *http.Client) *http.Client {
	c := &http.Client{Timeout: webhookTimeout, Transport: webhookTransport}
	if given != nil {
		c2 := *given
		c = &c2
		c.Timeout = cmp.Or(c.Timeout, webhookTimeout)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// sendDue claims one batch of due deliveries, sends them in parallel and records each outcome.
// It returns how many it claimed.
func (e *Engine) sendDue(ctx context.Context, client *http.Client) int {
	due, err := e.store.ClaimDeliveries(ctx, e.opts.Now(), webhookBatch, webhookLease)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("claiming webhook deliveries failed", slog.Any("err", err))
		}
		return 0
	}
	var sending sync.WaitGroup
	for _, d := range due {
		sending.Go(func() {
			result := e.deliver(ctx, client, d)
			if ctx.Err() != nil {
				return // shutting down: the lease runs out and the delivery is tried again
			}
			if err := e.store.RecordDelivery(ctx, d.ID, result); err != nil && !errors.Is(err, store.ErrNotFound) {
				e.log.Warn("recording a webhook delivery failed", slog.Int64("delivery", d.ID), slog.Any("err", err))
			}
		})
	}
	sending.Wait()
	return len(due)
}

// deliver makes one attempt at a delivery and says what became of it. Nothing it logs or returns
// holds the payload (clinical data), the secret or the URL (which may carry a token).
func (e *Engine) deliver(ctx context.Context, client *http.Client, d store.DueDelivery) store.DeliveryResult {
	timestamp := strconv.FormatInt(e.opts.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return store.DeliveryResult{Error: "the webhook's URL is not valid", FailedAt: e.opts.Now()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Vigil-Webhook/1")
	req.Header.Set("X-Vigil-Delivery", strconv.FormatInt(d.ID, 10))
	req.Header.Set("X-Vigil-Timestamp", timestamp)
	req.Header.Set("X-Vigil-Signature", Signature(d.Secret, timestamp, d.Payload))
	resp, err := client.Do(req)
	if err != nil {
		return e.failed(d, 0, sendError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhookAnswerLimit))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return store.DeliveryResult{Status: resp.StatusCode, DeliveredAt: e.opts.Now()}
	}
	return e.failed(d, resp.StatusCode, "HTTP "+resp.Status)
}

// failed is the outcome of a failed attempt: another try after the backoff, or, after the last
// attempt, giving up.
func (e *Engine) failed(d store.DueDelivery, status int, why string) store.DeliveryResult {
	if len(why) > 200 {
		why = why[:200]
	}
	now := e.opts.Now()
	log := e.log.With(slog.String("webhook", d.WebhookID), slog.Int64("delivery", d.ID), slog.Int("attempt", d.Attempt),
		slog.Int("status", status), slog.String("error", why))
	if d.Attempt >= WebhookMaxAttempts {
		log.Warn("webhook delivery given up")
		return store.DeliveryResult{Status: status, Error: why, FailedAt: now}
	}
	wait := webhookBackoff(d.Attempt)
	wait += rand.N(wait/10 + 1)
	log.Info("webhook delivery failed; will retry", slog.Duration("retry_in", wait))
	return store.DeliveryResult{Status: status, Error: why, RetryAt: now.Add(wait)}
}

// sendError describes a failed request without its URL.
func sendError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "no answer in time"
		}
		err = ue.Err
	}
	return err.Error()
}
