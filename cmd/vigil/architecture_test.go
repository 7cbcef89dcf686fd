package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is Vigil's module path.
const module = "github.com/vigil-rpm/vigil"

// allowedImports is the package table of ARCHITECTURE.md: which of Vigil's packages each may
// import. rpm, the vocabulary leaf, may be imported by any package that has Go code of its own
// to speak in it. "*" means any.
var allowedImports = map[string][]string{
	"cmd/vigil":        {"*"},
	"cmd/vigil/bench":  {"demo", "store", "store/pgcluster", "rpm"},
	"web":              {"handlers", "auth", "static", "rpm"},
	"handlers":         {"ingest", "live", "auth", "alerts", "alerts/watch", "fhir", "views", "store", "demo", "rpm"},
	"views":            {"rpm"},
	"static":           {},
	"alerts":           {"rpm"},
	"alerts/watch":     {"alerts", "store", "rpm"},
	"migrations":       {},
	"rpm":              {},
	"store":            {"rpm", "migrations", "demo"},
	"store/pgcluster":  {},
	"store/storetest":  {"store", "store/pgcluster", "rpm", "migrations"},
	"auth":             {"rpm", "store"},
	"auth/provider":    {},
	"ingest":           {"rpm", "store", "alerts", "live"},
	"ingest/devicesim": {"rpm"},
	"live":             {"alerts", "rpm", "store"},
	"fhir":             {"rpm"},
	"demo":             {"rpm"},
}

// sqlDriver may be imported only under store/: SQL never leaves it.
const sqlDriver = "github.com/jackc/pgx"

// violations returns every import that the table forbids, given each package's direct imports.
func violations(imports map[string][]string) []string {
	var bad []string
	for pkg, deps := range imports {
		allowed, known := allowedImports[pkg]
		if !known {
			bad = append(bad, fmt.Sprintf("%s is not a package of ARCHITECTURE.md's table", pkg))
			continue
		}
		for _, dep := range deps {
			if strings.HasPrefix(dep, sqlDriver) && pkg != "store" && !strings.HasPrefix(pkg, "store/") {
				bad = append(bad, fmt.Sprintf("%s imports %s: SQL lives only in store", pkg, dep))
			}
			inner, ok := strings.CutPrefix(dep, module+"/")
			if !ok || slices.Contains(allowed, "*") || slices.Contains(allowed, inner) {
				continue
			}
			bad = append(bad, fmt.Sprintf("%s imports %s, which ARCHITECTURE.md does not allow", pkg, inner))
		}
	}
	slices.Sort(bad)
	return bad
}

// moduleImports lists the direct (non-test) imports of every package in the module.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	imports := map[string][]string{}
	dec := json.NewDecoder(bufio.NewReader(bytes.NewReader(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		imports[strings.TrimPrefix(p.ImportPath, module+"/")] = p.Imports
	}
	return imports
}

func TestImportGraphFollowsArchitecture(t *testing.T) {
	imports := moduleImports(t)
	for _, pkg := range []string{"cmd/vigil", "web", "handlers", "store", "rpm"} {
		if _, ok := imports[pkg]; !ok {
			t.Fatalf("go list did not report %s; got %v", pkg, imports)
		}
	}
	for _, v := range violations(imports) {
		t.Error(v)
	}
}

// TestImportCheckCatchesViolations makes sure the check above can fail.
func TestImportCheckCatchesViolations(t *testing.T) {
	got := violations(map[string][]string{
		"views":    {"context", module + "/store"},
		"handlers": {"github.com/jackc/pgx/v5"},
		"rpm":      {module + "/web"},
		"util":     {},
		"store":    {"github.com/jackc/pgx/v5", module + "/rpm"},
	})
	want := []string{
		"handlers imports github.com/jackc/pgx/v5: SQL lives only in store",
		"rpm imports web, which ARCHITECTURE.md does not allow",
		"util is not a package of ARCHITECTURE.md's table",
		"views imports store, which ARCHITECTURE.md does not allow",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// news2Scorers are the only packages that may call alerts.ScoreNEWS2: the alert engine, which
// every screen asks for a score (watch.Engine.NEWS2), so the census and the alerts agree.
var news2Scorers = []string{"alerts", "alerts/watch"}

// news2Scoring lists the non-test Go files under root, outside news2Scorers, that score NEWS2
// themselves.
func news2Scoring(t *testing.T, root string) []string {
	t.Helper()
	var bad []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		if slices.Contains(news2Scorers, filepath.ToSlash(rel)) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(src, []byte("ScoreNEWS2(")) {
			bad = append(bad, filepath.ToSlash(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

// TestNEWS2IsScoredInOnePlace: NEWS2 is scored by the alerts package, through the engine, and
// nowhere else; and the live relay never calls back into the handlers for it.
func TestNEWS2IsScoredInOnePlace(t *testing.T) {
	if bad := news2Scoring(t, "../.."); len(bad) > 0 {
		t.Errorf("NEWS2 scored outside %v: %v", news2Scorers, bad)
	}
	imports := moduleImports(t)
	if slices.Contains(imports["live"], module+"/handlers") || slices.Contains(allowedImports["live"], "handlers") {
		t.Error("live may not import handlers")
	}
	// The check can fail: a file of another package that scores is found.
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "handlers"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "handlers", "x.go"), []byte("package handlers\nvar _ = alerts.ScoreNEWS2(in, now, f)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if bad := news2Scoring(t, dir); len(bad) != 1 {
		t.Errorf("the check missed a scorer in handlers: %v", bad)
	}
}
