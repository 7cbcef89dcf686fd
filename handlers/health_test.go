package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func readyz(t *testing.T, st *store.Store) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/readyz", nil), rec)
	if err := New(st, Options{}).Readyz(c); err != nil {
		t.Fatal(err)
	}
	return rec.Code, rec.Body.String()
}

func TestReadyz(t *testing.T) {
	ctx := context.Background()
	if code, body := readyz(t, storetest.New(t)); code != http.StatusOK {
		t.Errorf("current schema: %d %s", code, body)
	}

	empty, err := store.Open(ctx, storetest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if code, body := readyz(t, empty); code != http.StatusServiceUnavailable || !strings.Contains(body, "schema behind") {
		t.Errorf("schema behind: %d %s", code, body)
	}

	closed, err := store.Open(ctx, storetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if code, body := readyz(t, closed); code != http.StatusServiceUnavailable || !strings.Contains(body, "unreachable") {
		t.Errorf("database unreachable: %d %s", code, body)
	}
}
