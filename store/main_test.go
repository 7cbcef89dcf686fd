package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// openFresh returns a Store on a fresh, migrated database and a plain connection to the same
// database for looking at what the store wrote.
func openFresh(t testing.TB) (*store.Store, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	url := storetest.URL(t)
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return s, conn
}
