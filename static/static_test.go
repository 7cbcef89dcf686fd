package static

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHashedURLsAreServedAndCachedLong(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"css/vigil.css", "vendor/htmx/htmx.min.js", "vendor/uplot/uPlot.iife.min.js", "vendor/uplot/uPlot.min.css"} {
		url := a.URL(name)
		if url == Prefix+name {
			t.Errorf("%s has no hashed URL", name)
			continue
		}
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d", url, rec.Code)
		}
		if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("GET %s Cache-Control = %q", url, cc)
		}
	}
}

func TestPrivateAndUnknownFilesAreNotServed(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{Prefix + "vendor/refresh.sh", Prefix + "vendor/VERSIONS.md", Prefix + "css/vigil.css",
		Prefix + "css/vigil.0000000000.css", Prefix + "../static.go"} {
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", url, rec.Code)
		}
	}
}
