package live

import (
	"encoding/json"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
)

func frame(patient string, v float64) Frame {
	return Frame{Type: "readings", Patient: patient, Readings: []ReadingFrame{{Code: rpm.CodeHeartRate, Value: v, Unit: "/min"}}}
}

func TestFramesGoOnlyToSubscribersOfThePatient(t *testing.T) {
	h := NewHub()
	kim, lee := h.Subscribe(8), h.Subscribe(8)
	kim.Add("cardio-1", "cardio-2")
	lee.Add("pulmo-1")
	h.Publish(frame("cardio-1", 70))
	h.Publish(frame("pulmo-1", 80))
	h.Publish(frame("nobody", 90))
	if got := drain(kim); len(got) != 1 || got[0].Patient != "cardio-1" {
		t.Errorf("kim got %+v", got)
	}
	if got := drain(lee); len(got) != 1 || got[0].Patient != "pulmo-1" {
		t.Errorf("lee got %+v", got)
	}
	kim.Remove("cardio-1")
	h.Publish(frame("cardio-1", 71))
	if got := drain(kim); len(got) != 0 {
		t.Errorf("after unsubscribing kim got %+v", got)
	}
}

func drain(s *Subscription) []Frame {
	var out []Frame
	for {
		select {
		case f := <-s.Frames():
			out = append(out, *f)
		default:
			return out
		}
	}
}

// TestSlowSubscriberIsDroppedAndNeverBlocks: a dashboard that reads nothing fills its queue and is
// dropped; publishing never waits, and other dashboards still get every frame.
func TestSlowSubscriberIsDroppedAndNeverBlocks(t *testing.T) {
	h := NewHub()
	slow, fast := h.Subscribe(4), h.Subscribe(1000)
	slow.Add("p")
	fast.Add("p")
	done := make(chan struct{})
	go func() {
		for i := range 500 {
			h.Publish(frame("p", float64(i)))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("publishing blocked on a slow subscriber")
	}
	select {
	case <-slow.Dropped():
	default:
		t.Fatal("the slow subscriber was not dropped")
	}
	if got := len(drain(fast)); got != 500 {
		t.Errorf("the fast subscriber got %d of 500 frames", got)
	}
	if h.Subscribers("p") != 1 {
		t.Errorf("%d subscribers left, want the fast one", h.Subscribers("p"))
	}
	slow.Add("q") // adding to a dropped subscription does nothing
	if h.Subscribers("q") != 0 {
		t.Error("a dropped subscription took a new patient")
	}
}

// TestNoGoroutinesOrTopicsLeak: many subscriptions opened, used concurrently and closed leave no
// goroutines and no topics behind.
func TestNoGoroutinesOrTopicsLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	h := NewHub()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			s := h.Subscribe(16)
			s.Add("a", "b")
			for j := range 20 {
				h.Publish(frame("a", float64(i*j)))
			}
			drain(s)
			s.Close()
			s.Close()
		})
	}
	wg.Wait()
	if h.Subscribers("a") != 0 || len(h.topics) != 0 {
		t.Errorf("topics left behind: %v", h.topics)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines before, %d after", before, n)
	}
}

func TestReadingsFramesGroupByPatient(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	frames := ReadingsFrames([]rpm.Reading{
		{PatientID: "a", Code: "8867-4", Value: 70, Unit: "/min", EffectiveAt: at},
		{PatientID: "b", Code: "59408-5", Value: 97, Unit: "%", EffectiveAt: at},
		{PatientID: "a", Code: "9279-1", Value: 16, Unit: "/min", EffectiveAt: at},
	})
	if len(frames) != 2 || frames[0].Patient != "a" || len(frames[0].Readings) != 2 || frames[1].Readings[0].Value != 97 {
		t.Errorf("frames = %+v", frames)
	}
}

// TestReadingsFramesIdentifyEachReading: each reading on the wire carries its device and the
// device's id of it (the readings' primary key), so that a dashboard shows a repeated reading once
// and two devices' readings of one code at one instant twice; the fields API.md names stay.
func TestReadingsFramesIdentifyEachReading(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 123456000, time.UTC)
	frames := ReadingsFrames([]rpm.Reading{
		{PatientID: "a", DeviceID: "dev-1", DeviceReadingID: "r-7", Code: "8867-4", Value: 70, Unit: "/min", EffectiveAt: at},
		{PatientID: "a", DeviceID: "dev-2", DeviceReadingID: "r-7", Code: "8867-4", Value: 72, Unit: "/min", EffectiveAt: at},
	})
	if len(frames) != 1 || len(frames[0].Readings) != 2 {
		t.Fatalf("frames = %+v", frames)
	}
	want := []ReadingFrame{
		{Device: "dev-1", ID: "r-7", Code: "8867-4", Value: 70, Unit: "/min", At: at},
		{Device: "dev-2", ID: "r-7", Code: "8867-4", Value: 72, Unit: "/min", At: at},
	}
	for i, w := range want {
		if frames[0].Readings[i] != w {
			t.Errorf("reading %d = %+v, want %+v", i, frames[0].Readings[i], w)
		}
	}
	b, err := json.Marshal(frames[0])
	if err != nil {
		t.Fatal(err)
	}
	const wire = `{"type":"readings","patient":"a","readings":[` +
		`{"device":"dev-1","id":"r-7","code":"8867-4","value":70,"unit":"/min","at":"2026-11-21T10:00:00.123456Z"},` +
		`{"device":"dev-2","id":"r-7","code":"8867-4","value":72,"unit":"/min","at":"2026-11-21T10:00:00.123456Z"}]}`
	if string(b) != wire {
		t.Errorf("on the wire:\n%s\nwant\n%s", b, wire)
	}
}

func TestCloseAllEndsEverySubscription(t *testing.T) {
	h := NewHub()
	a, b := h.Subscribe(4), h.Subscribe(4)
	a.Add("p")
	h.CloseAll()
	for _, s := range []*Subscription{a, b} {
		select {
		case <-s.Dropped():
		default:
			t.Error("a subscription survived CloseAll")
		}
	}
	late := h.Subscribe(4)
	select {
	case <-late.Dropped():
	default:
		t.Error("a subscription opened after CloseAll is live")
	}
	if !h.Closing() || h.Subscribers("p") != 0 {
		t.Error("hub not closed")
	}
}
