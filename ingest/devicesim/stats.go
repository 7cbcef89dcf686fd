package devicesim

import "sync/atomic"

// Stats counts what a run did. Every field is updated atomically, so it is safe to read (through
// Snapshot or the fields' Load) while Run is running.
type Stats struct {
	// Batches is the number of batches delivered: answered with a 2xx.
	Batches atomic.Int64
	// Sent is the number of readings in the delivered batches.
	Sent atomic.Int64
	// Accepted, Duplicates and Rejected sum Vigil's answers to the delivered batches.
	Accepted, Duplicates, Rejected atomic.Int64
	// Retries is the number of posts repeated after a 429, a 408, a 5xx or a network error.
	Retries atomic.Int64
	// Failures is the number of batches given up: answered with another 4xx (or a 3xx), or
	// dropped, oldest first, when a device already held its maximum of unsent batches.
	Failures atomic.Int64
}

// StatsSnapshot is a plain copy of [Stats] at one moment.
type StatsSnapshot struct {
	Batches, Sent, Accepted, Duplicates, Rejected, Retries, Failures int64
}

// Snapshot copies the counts. Each count is read atomically; the set is not one instant.
func (s *Stats) Snapshot() StatsSnapshot {
	return StatsSnapshot{
		Batches:    s.Batches.Load(),
		Sent:       s.Sent.Load(),
		Accepted:   s.Accepted.Load(),
		Duplicates: s.Duplicates.Load(),
		Rejected:   s.Rejected.Load(),
		Retries:    s.Retries.Load(),
		Failures:   s.Failures.Load(),
	}
}
