package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/storetest"
)

// TestLeadOneAtATime: of two instances trying to lead, one runs the work at a time; when it stops,
// the other takes over within the retry interval.
func TestLeadOneAtATime(t *testing.T) {
	url := storetest.URL(t)
	var leaders, most atomic.Int32
	var ran [2]atomic.Int32
	work := func(i int) func(ctx context.Context) {
		return func(ctx context.Context) {
			n := leaders.Add(1)
			defer leaders.Add(-1)
			if n > most.Load() {
				most.Store(n)
			}
			ran[i].Add(1)
			<-ctx.Done()
		}
	}
	ctxs := make([]context.CancelFunc, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		st, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[i] = cancel
		wg.Go(func() { st.Lead(ctx, 42, 50*time.Millisecond, work(i)) })
	}
	defer func() {
		for _, c := range ctxs {
			c()
		}
		wg.Wait()
	}()
	waitUntil(t, func() bool { return ran[0].Load()+ran[1].Load() == 1 }, "a leader")
	time.Sleep(300 * time.Millisecond) // several retries of the other
	if most.Load() != 1 || ran[0].Load()+ran[1].Load() != 1 {
		t.Fatalf("leaders at once: %d, runs: %d and %d", most.Load(), ran[0].Load(), ran[1].Load())
	}
	leader := 0
	if ran[1].Load() == 1 {
		leader = 1
	}
	ctxs[leader]() // the leader's instance stops
	waitUntil(t, func() bool { return ran[1-leader].Load() == 1 }, "the other instance taking over")
	if most.Load() != 1 {
		t.Errorf("two leaders at once")
	}
}

func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
