package store_test

import (
	"context"
	"testing"
	"time"
)

// TestListenReconnectsByItself: when the listening connection is killed, Listen reconnects and
// later notifications arrive; onConnect tells the caller so it can catch up.
func TestListenReconnectsByItself(t *testing.T) {
	s, conn := openFresh(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 10)
	connects := make(chan struct{}, 10)
	go s.Listen(ctx, "vigil_test", func(p string) { got <- p }, func() { connects <- struct{}{} })
	<-connects
	if err := s.Notify(ctx, "vigil_test", "one"); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, got); p != "one" {
		t.Fatalf("got %q", p)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connects:
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not reconnect")
	}
	if err := s.Notify(ctx, "vigil_test", "two"); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, got); p != "two" {
		t.Fatalf("after reconnecting got %q", p)
	}
}

func receive(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
		return ""
	}
}
