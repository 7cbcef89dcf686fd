package devicesim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Posting and retrying.
const (
	// maxBackoff caps the exponential backoff after a 5xx, a 408 or a network error; the first
	// wait is about min(Interval, 1 s), and each is drawn from [ceiling/2, ceiling].
	maxBackoff = 30 * time.Second
	// maxRetryAfter caps what a Retry-After header may ask for.
	maxRetryAfter = time.Hour
	// retryAfterJitter is the most added to a Retry-After wait (as a fraction of it), so devices
	// told the same do not all come back in the same instant.
	retryAfterJitter = 0.1
	// maxAnswerBytes bounds how much of an answer is read.
	maxAnswerBytes = 64 << 10
	userAgent      = "vigil-devicesim/1"
)

// outcome is what became of one post of a batch.
type outcome int

const (
	delivered  outcome = iota // 2xx: done
	dropped                   // refused (4xx other than 408 and 429): given up
	retryLater                // 429, 408, 5xx or a network error: post the same batch again
	canceled                  // the run ended
)

// flush posts the unsent batches, oldest first, until none is left, one must wait for a retry
// (then retry is set to fire when it may go), or ctx ends.
func (d *device) flush(ctx context.Context, retry *time.Timer) {
	for len(d.queue) > 0 && ctx.Err() == nil {
		if wait := time.Until(d.retryAt); wait > 0 {
			retry.Reset(wait)
			return
		}
		switch out, wait := d.post(ctx, d.queue[0]); out {
		case delivered, dropped:
			d.dequeue()
		case retryLater:
			d.attempt++
			d.retryAt = time.Now().Add(wait)
		case canceled:
			return
		}
	}
}

// post sends one batch and says what became of it and, to retry, how long to wait first.
func (d *device) post(ctx context.Context, b *batch) (outcome, time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(b.body.Bytes()))
	if err != nil { // the URL was checked by Config.resolve
		d.log.Error("cannot build the request", "err", err)
		d.cfg.Stats.Failures.Add(1)
		return dropped, 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", d.auth)
	req.Header.Set("User-Agent", userAgent)
	if d.attempt > 0 {
		d.cfg.Stats.Retries.Add(1)
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return canceled, 0
		}
		d.log.Debug("post failed; will retry", "err", err, "attempt", d.attempt+1)
		return retryLater, d.backoff()
	}
	defer drain(resp.Body)
	return d.answer(resp, b)
}

// answer handles Vigil's answer to a batch.
func (d *device) answer(resp *http.Response, b *batch) (outcome, time.Duration) {
	status := resp.StatusCode
	switch {
	case status >= 200 && status < 300:
		d.delivered(resp.Body, b)
		return delivered, 0
	case status == http.StatusTooManyRequests:
		wait := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		if wait <= 0 {
			wait = d.backoff()
		} else {
			wait += time.Duration(d.jitter.Float64() * retryAfterJitter * float64(wait))
		}
		d.log.Debug("rate limited; will retry", "wait", wait)
		return retryLater, wait
	case status == http.StatusRequestTimeout || status >= 500:
		d.log.Debug("Vigil unavailable; will retry", "status", status, "attempt", d.attempt+1)
		return retryLater, d.backoff()
	}
	d.refused(resp)
	return dropped, 0
}

// summary is Vigil's 200 answer.
type summary struct {
	Accepted   int64 `json:"accepted"`
	Duplicates int64 `json:"duplicates"`
	Rejected   []struct {
		Index  int    `json:"index"`
		ID     string `json:"id"`
		Reason string `json:"reason"`
	} `json:"rejected"`
}

// delivered counts a batch Vigil took, with its summary.
func (d *device) delivered(body io.Reader, b *batch) {
	d.failing = 0
	st := d.cfg.Stats
	st.Batches.Add(1)
	st.Sent.Add(int64(b.readings))
	var s summary
	if err := json.NewDecoder(io.LimitReader(body, maxAnswerBytes)).Decode(&s); err != nil {
		d.log.Debug("unreadable answer to a delivered batch", "err", err)
		return
	}
	st.Accepted.Add(s.Accepted)
	st.Duplicates.Add(s.Duplicates)
	st.Rejected.Add(int64(len(s.Rejected)))
	if len(s.Rejected) > 0 {
		r := s.Rejected[0]
		d.log.Debug("readings rejected", "count", len(s.Rejected), "first_id", r.ID, "reason", r.Reason)
	}
}

// refused gives up a batch Vigil will never take. A run of refusals with one status is logged
// once as a warning, so a device with a revoked token does not flood the log.
func (d *device) refused(resp *http.Response) {
	d.cfg.Stats.Failures.Add(1)
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, maxAnswerBytes)).Decode(&e)
	level := slog.LevelDebug
	if d.failing != resp.StatusCode {
		level = slog.LevelWarn
	}
	d.failing = resp.StatusCode
	d.log.Log(context.Background(), level, "batch refused; dropped",
		"status", resp.StatusCode, "error", e.Error, "message", e.Message)
}

// backoff is the wait before retrying the queue's head after its attempt-th failure: exponential
// from min(Interval, 1 s) to maxBackoff, with jitter.
func (d *device) backoff() time.Duration {
	ceiling := maxBackoff
	if d.attempt < 30 {
		ceiling = min(maxBackoff, min(d.cfg.Interval, time.Second)<<d.attempt)
	}
	return ceiling/2 + time.Duration(d.jitter.Int64N(int64(ceiling/2)+1))
}

// retryAfter is the wait a Retry-After header asks for, as delay-seconds or an HTTP date,
// capped at maxRetryAfter; -1 when the header is absent or invalid.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return -1
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s < 0 {
			return -1
		}
		return time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, min(t.Sub(now), maxRetryAfter))
	}
	return -1
}

// drain reads what is left of an answer, so its connection can be reused, and closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxAnswerBytes))
	_ = body.Close()
}
