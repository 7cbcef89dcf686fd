package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// apiDoc is the outside contract, whose configuration table must be the binary's settings.
const apiDoc = "../../docs/API.md"

// The markers around the configuration table in docs/API.md.
const (
	configTableStart = "<!-- configuration table: read by cmd/vigil/docs_test.go"
	configTableEnd   = "<!-- end of configuration table -->"
)

// documentedSettings reads the configuration table of docs/API.md: each row's variable and
// default. A default is written `value`, or — (with or without a remark) for none.
func documentedSettings(doc string) ([]setting, error) {
	_, table, ok := strings.Cut(doc, configTableStart)
	table, _, ok2 := strings.Cut(table, configTableEnd)
	if !ok || !ok2 {
		return nil, fmt.Errorf("no configuration table between its markers")
	}
	var out []setting
	for line := range strings.Lines(table) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "| `") {
			continue // the marker's tail, the header, its rule
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			return nil, fmt.Errorf("row %q has fewer than 3 cells", line)
		}
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		def := strings.TrimSpace(cells[1])
		switch {
		case strings.HasPrefix(def, "—"):
			def = ""
		case len(def) > 2 && strings.HasPrefix(def, "`") && strings.HasSuffix(def, "`") && strings.Count(def, "`") == 2:
			def = strings.Trim(def, "`")
		default:
			return nil, fmt.Errorf("%s: the default must be written `value` or — (got %q)", name, def)
		}
		out = append(out, setting{name: name, def: def})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the configuration table has no rows")
	}
	return out, nil
}

// settingsMismatch says how a documented table differs from the code's settings: variables
// missing, unknown, listed twice, or with another default.
func settingsMismatch(documented, code []setting) []string {
	var bad []string
	seen := map[string]bool{}
	for _, d := range documented {
		if seen[d.name] {
			bad = append(bad, d.name+" is listed twice")
		}
		seen[d.name] = true
		i := slices.IndexFunc(code, func(s setting) bool { return s.name == d.name })
		switch {
		case i < 0:
			bad = append(bad, d.name+" is documented but is not one of the settings in cmd/vigil/config.go")
		case code[i].def != d.def:
			bad = append(bad, fmt.Sprintf("%s: documented default %q, the code's is %q", d.name, d.def, code[i].def))
		}
	}
	for _, s := range code {
		if !seen[s.name] {
			bad = append(bad, s.name+" is a setting in cmd/vigil/config.go but is not in the table")
		}
	}
	return bad
}

// TestDocsConfigTable holds docs/API.md's configuration table to the settings vigil serve reads:
// every variable once, with its default.
func TestDocsConfigTable(t *testing.T) {
	doc, err := os.ReadFile(apiDoc)
	if err != nil {
		t.Fatal(err)
	}
	documented, err := documentedSettings(string(doc))
	if err != nil {
		t.Fatalf("%s: %v", apiDoc, err)
	}
	for _, problem := range settingsMismatch(documented, settings) {
		t.Errorf("%s: %s", apiDoc, problem)
	}
}

// TestDocsCheckersCatchMistakes shows that the check above fails when it should.
func TestDocsCheckersCatchMistakes(t *testing.T) {
	doc := configTableStart + " -->\n| variable | default | meaning |\n| --- | --- | --- |\n" +
		"| `VIGIL_A` | `1` | a |\n| `VIGIL_B` | — (required) | b |\n| `VIGIL_C` | `x` | c |\n| `VIGIL_A` | `1` | again |\n" +
		configTableEnd
	documented, err := documentedSettings(doc)
	if err != nil {
		t.Fatal(err)
	}
	code := []setting{{name: "VIGIL_A", def: "1"}, {name: "VIGIL_B", def: "2"}, {name: "VIGIL_D"}}
	want := []string{
		"VIGIL_B: documented default \"\", the code's is \"2\"",
		"VIGIL_C is documented but is not one of the settings in cmd/vigil/config.go",
		"VIGIL_A is listed twice",
		"VIGIL_D is a setting in cmd/vigil/config.go but is not in the table",
	}
	if got := settingsMismatch(documented, code); !slices.Equal(got, want) {
		t.Errorf("settingsMismatch:\n got %q\nwant %q", got, want)
	}
	if _, err := documentedSettings(strings.Replace(doc, "`x`", "x or y", 1)); err == nil {
		t.Error("a default written without backticks was accepted")
	}
	if _, err := documentedSettings("no table here"); err == nil {
		t.Error("a document without the table was accepted")
	}
}
