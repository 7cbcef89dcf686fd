package ingest

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters rate-limits each device separately (in this instance's memory: with several instances
// behind a load balancer a device gets each instance's allowance, which still bounds a runaway).
type limiters struct {
	every rate.Limit
	burst int

	mu       sync.Mutex
	byDevice map[string]*deviceLimiter
}

type deviceLimiter struct {
	limiter  *rate.Limiter
	lastUsed time.Time
}

// allow takes one request from the device's allowance, or says how long to wait.
func (l *limiters) allow(deviceID string, now time.Time) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	d, found := l.byDevice[deviceID]
	if !found {
		d = &deviceLimiter{limiter: rate.NewLimiter(l.every, l.burst)}
		l.byDevice[deviceID] = d
	}
	d.lastUsed = now
	l.mu.Unlock()
	r := d.limiter.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return false, delay
	}
	return true, 0
}

// forget drops limiters idle for longer than idle, so the map does not grow without bound.
func (l *limiters) forget(idle time.Duration, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, d := range l.byDevice {
		if now.Sub(d.lastUsed) > idle {
			delete(l.byDevice, id)
		}
	}
}

// retryAfterSeconds is a Retry-After value: whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int { return int(math.Max(1, math.Ceil(d.Seconds()))) }
