package static

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// importFrom matches the module specifier of a static import or re-export: import "x";
// import { a, b } from "x"; export { a } from "x" (also spread over lines).
var importFrom = regexp.MustCompile(`(?m)^\s*(?:import\s+(?:[^'";]*?\bfrom\s*)?|export\s+[^'";]*?\bfrom\s*)["']([^"']+)["']`)

// dynamicImport matches import(…), which this test cannot follow; the modules must not use it.
var dynamicImport = regexp.MustCompile(`\bimport\s*\(`)

func imports(src string) []string {
	var specs []string
	for _, m := range importFrom.FindAllStringSubmatch(src, -1) {
		specs = append(specs, m[1])
	}
	return specs
}

func TestImportsFindsEverySpecifier(t *testing.T) {
	src := `import { a } from "./a.js";
import {
  b,
  c,
} from './b.js';
import "./side.js";
export { d } from "./d.js";
export const from = 1;
export function f() { return "./not-an-import.js"; }
// import nothing from here: a comment is not an import
`
	want := []string{"./a.js", "./b.js", "./side.js", "./d.js"}
	if got := imports(src); !slices.Equal(got, want) {
		t.Errorf("imports = %q, want %q", got, want)
	}
}

// assetsOfViews lists the assets the views load: every asset(ctx, "name") in views/*.templ.
func assetsOfViews(t *testing.T) []string {
	t.Helper()
	templs, err := filepath.Glob("../views/*.templ")
	if err != nil || len(templs) == 0 {
		t.Fatalf("no views found: %v", err)
	}
	named := regexp.MustCompile(`asset\(ctx, "([^"]+)"\)`)
	var names []string
	for _, f := range templs {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range named.FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(names, m[1]) {
				names = append(names, m[1])
			}
		}
	}
	return names
}

// serve answers GET url, failing the test unless it is served for a year as contentType.
func serve(t *testing.T, a *Assets, url, contentType string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET %s = %d", url, rec.Code)
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("GET %s Cache-Control = %q", url, cc)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, contentType) {
		t.Errorf("GET %s Content-Type = %q, want %s", url, ct, contentType)
	}
	return rec.Body.String()
}

// TestEveryModuleThePagesLoadIsServed: every asset the views name is embedded and served by its
// hashed URL; from each script module the pages load, every module it imports, transitively, is
// embedded, in the import map under the URL its import resolves to, and served as JavaScript; and
// every module in the import map is loaded by some page. A missing, misnamed or forgotten file
// fails here, not in a browser.
func TestEveryModuleThePagesLoadIsServed(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var queue []string
	for _, name := range assetsOfViews(t) {
		url := a.URL(name)
		if url == Prefix+name {
			t.Errorf("the views load %s, which is not embedded", name)
			continue
		}
		serve(t, a, url, "")
		if strings.HasPrefix(name, modules) && path.Ext(name) == ".js" {
			queue = append(queue, name)
		}
	}
	if !slices.Contains(queue, "js/live/main.js") {
		t.Fatalf("the views load no entry module; they load %v", queue)
	}
	loaded := map[string]bool{}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if loaded[name] {
			continue
		}
		loaded[name] = true
		if got := a.ImportMap()[Prefix+name]; got == "" || got != a.URL(name) {
			t.Errorf("the import map has %s → %q, want %s", Prefix+name, got, a.URL(name))
			continue
		}
		src := serve(t, a, a.URL(name), "text/javascript")
		if dynamicImport.MatchString(src) {
			t.Errorf("%s imports dynamically, which the import map may not cover", name)
		}
		for _, spec := range imports(src) {
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				t.Errorf("%s imports %q: modules import each other by relative URL", name, spec)
				continue
			}
			dep := path.Join(path.Dir(name), spec)
			if a.URL(dep) == Prefix+dep {
				t.Errorf("%s imports %s, which is not embedded", name, dep)
				continue
			}
			queue = append(queue, dep)
		}
	}
	if len(loaded) < 2 {
		t.Errorf("the entry module imports nothing: %v", loaded)
	}
	for plain := range a.ImportMap() {
		if !loaded[strings.TrimPrefix(plain, Prefix)] {
			t.Errorf("%s is in the import map, but no page loads it", plain)
		}
	}
}
