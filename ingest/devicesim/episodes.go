package devicesim

import (
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// Episodes of the Hypoxic and Hypotensive scenarios: a few a day, as a clinician sees in such
// patients, each 5–15 minutes long.
var (
	hypoxicEpisodes = episodes{every: 7 * time.Hour, spread: time.Hour, // 6–8 h apart
		minLen: 5 * time.Minute, maxLen: 15 * time.Minute, code: rpm.CodeSpO2, salt: 1}
	hypotensiveEpisodes = episodes{every: 10 * time.Hour, spread: 2 * time.Hour, // 8–12 h apart
		minLen: 5 * time.Minute, maxLen: 15 * time.Minute, code: rpm.CodeSystolicBP, salt: 2}
)

// Symptom checks: during an episode the patient feels unwell and measures with a spot-check device
// that shows it (a hypotensive patient's cuff), the first time symptomCheckDelay after the episode
// starts, then every symptomCheckEvery until one check after it has ended. Two checks fall within
// the shortest episode, far enough apart for a "below 90 mm Hg for 3 minutes" rule.
const (
	symptomCheckDelay = time.Minute
	symptomCheckEvery = 3 * time.Minute
)

// episodes are a scenario's recurring episodes. Episode k — any integer, so there are episodes
// before simulated time zero too, for history — starts at k × every moved by up to ±spread/2,
// and lasts between minLen and maxLen, both drawn from the patient's salt; episode 0 starts at
// zero exactly, so a Head a few minutes below zero puts one a few minutes into a run. code is what
// an episode shows in.
type episodes struct {
	every, spread, minLen, maxLen time.Duration
	code                          string
	salt                          uint64
}

// episode is the k-th episode's start and length, in simulated time.
func (e episodes) episode(k int64, salt uint64) (begin, length time.Duration) {
	key := salt ^ e.salt<<56 ^ uint64(k)*0x9e3779b97f4a7c15
	length = e.minLen + time.Duration(unit(key)*float64(e.maxLen-e.minLen))
	begin = time.Duration(k) * e.every
	if k != 0 {
		begin += time.Duration((unit(key+1) - 0.5) * float64(e.spread))
	}
	return begin, length
}

// index is the number of the period of length every that holds simulated time t.
func (e episodes) index(t time.Duration) int64 {
	k := int64(t / e.every)
	if t%e.every < 0 {
		k--
	}
	return k
}

// active reports whether simulated time t falls within an episode.
func (e episodes) active(t time.Duration, salt uint64) bool {
	k := e.index(t)
	for i := k - 1; i <= k+1; i++ {
		if begin, length := e.episode(i, salt); t >= begin && t < begin+length {
			return true
		}
	}
	return false
}

// nextCheck is the first symptom check strictly after simulated time t.
func (e episodes) nextCheck(t time.Duration, salt uint64) time.Duration {
	k := e.index(t)
	next := time.Duration(1<<63 - 1)
	for i := k - 1; i <= k+2; i++ {
		begin, length := e.episode(i, salt)
		first := begin + symptomCheckDelay
		last := (length - symptomCheckDelay + symptomCheckEvery - 1) / symptomCheckEvery // the first check at or after the end
		n := time.Duration(0)
		if t >= first {
			n = (t-first)/symptomCheckEvery + 1
		}
		if n <= last {
			next = min(next, first+n*symptomCheckEvery)
		}
	}
	return next
}

// symptomatic returns the episodes that make the patient reach for this spot-check device, if any.
func (p *Patient) symptomatic() (episodes, bool) {
	e, ok := p.episodes()
	if !ok {
		return e, false
	}
	for _, code := range kindMetrics[p.kind] {
		if code == e.code && !p.schedule.Continuous() {
			return e, true
		}
	}
	return e, false
}

// Episodes returns the hypoxic or hypotensive episodes of the patient's scenario that begin in
// [from, to) of simulated time, each as its [begin, end): what a clinical-safety replay must
// detect. Other scenarios have none.
func (p *Patient) Episodes(from, to time.Duration) [][2]time.Duration {
	e, ok := p.episodes()
	if !ok {
		return nil
	}
	var out [][2]time.Duration
	for k := e.index(from) - 1; ; k++ {
		begin, length := e.episode(k, p.salt)
		if begin >= to {
			return out
		}
		if begin >= from {
			out = append(out, [2]time.Duration{begin, begin + length})
		}
	}
}

// episodes are the patient's scenario's episodes, if it has any.
func (p *Patient) episodes() (episodes, bool) {
	switch p.scenario {
	case Hypoxic:
		return hypoxicEpisodes, true
	case Hypotensive:
		return hypotensiveEpisodes, true
	}
	return episodes{}, false
}
