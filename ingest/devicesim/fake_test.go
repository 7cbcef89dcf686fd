package devicesim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

// received is one post as the fake Vigil saw it.
type received struct {
	at       time.Time // when it arrived
	auth     string
	ctype    string
	method   string
	path     string
	body     []byte
	payload  Payload
	measured time.Time // the first reading's "at"
}

// fakeVigil stands in for Vigil's intake: it records every post and answers per API.md,
// counting duplicates per token and rejecting implausible values, unless script says otherwise.
type fakeVigil struct {
	t   *testing.T
	srv *httptest.Server
	// script, if set, may answer post n (0-based) itself: it returns the status (0 to answer
	// per the contract) and may set headers.
	script func(n int, h http.Header) int

	mu    sync.Mutex
	posts []received
	seen  map[string]map[string]bool // token → reading ids stored
}

func newFakeVigil(t *testing.T, script func(n int, h http.Header) int) *fakeVigil {
	t.Helper()
	f := &fakeVigil{t: t, script: script, seen: map[string]map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVigil) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "too_large", "message": "Too large."})
		return
	}
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		f.t.Errorf("malformed body %q: %v", body, err)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed", "message": "Malformed."})
		return
	}
	measured, err := time.Parse(time.RFC3339Nano, p.Readings[0].At)
	if err != nil {
		f.t.Errorf("reading time %q: %v", p.Readings[0].At, err)
	}
	f.mu.Lock()
	n := len(f.posts)
	f.posts = append(f.posts, received{time.Now(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.Method, r.URL.Path, body, p, measured})
	f.mu.Unlock()
	if f.script != nil {
		if status := f.script(n, w.Header()); status != 0 {
			writeJSON(w, status, map[string]string{"error": "scripted", "message": "Scripted answer."})
			return
		}
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": "Bad token."})
		return
	}
	writeJSON(w, http.StatusOK, f.store(token, p))
}

type rejection struct {
	Index  int    `json:"index"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

type answerBody struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   []rejection `json:"rejected"`
}

// store answers a batch as Vigil does: duplicates by id, implausible values rejected.
func (f *fakeVigil) store(token string, p Payload) answerBody {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := f.seen[token]
	if ids == nil {
		ids = map[string]bool{}
		f.seen[token] = ids
	}
	a := answerBody{Rejected: []rejection{}}
	for i, r := range p.Readings {
		switch {
		case ids[r.ID]:
			a.Duplicates++
		case !plausible(r):
			a.Rejected = append(a.Rejected, rejection{i, r.ID, "implausible_value"})
		default:
			ids[r.ID] = true
			a.Accepted++
		}
	}
	return a
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// snapshot copies the posts so far.
func (f *fakeVigil) snapshot() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.posts...)
}

func (f *fakeVigil) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.posts)
}

// runUntil runs the simulator against f until done reports true or limit passes, then cancels
// it and returns its stats; it fails the test if Run does not return promptly.
func runUntil(t *testing.T, cfg Config, limit time.Duration, done func() bool) *Stats {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		stats *Stats
		err   error
	}
	out := make(chan result, 1)
	go func() {
		s, err := Run(ctx, cfg)
		out <- result{s, err}
	}()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && (done == nil || !done()) {
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	select {
	case r := <-out:
		if r.err != nil {
			t.Fatalf("Run: %v", r.err)
		}
		return r.stats
	case <-time.After(time.Second):
		t.Fatal("Run did not return within 1s of cancel")
		return nil
	}
}

// plausible reports whether Vigil's own intake validation (rpm.Normalize: the one conversion and
// the one set of plausible ranges) would accept the reading's value.
func plausible(r Reading) bool {
	_, rej := rpm.Normalize(r.Code, r.Unit, r.Value)
	return rej == nil
}
