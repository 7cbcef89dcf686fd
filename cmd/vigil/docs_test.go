package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// apiDoc is the outside contract, whose configuration table must be the binary's settings.
const apiDoc = "../../docs/API.md"

// repoRoot is where README.md and docs/ live, seen from this package.
const repoRoot = "../.."

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

var (
	// fencedCode and inlineCode are left out before looking for links: code is not prose.
	fencedCode = regexp.MustCompile("(?ms)^```.*?^```")
	inlineCode = regexp.MustCompile("`[^`\n]*`")
	// mdLink is an inline Markdown link or image: [text](target) or [text](target "title").
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	heading = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
)

// anchors are the heading anchors a Markdown file has, as GitHub makes them: lower case, spaces
// to hyphens, punctuation dropped, "-1", "-2" … after repeats.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	count := map[string]int{}
	for _, m := range heading.FindAllStringSubmatch(fencedCode.ReplaceAllString(doc, ""), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		slug := b.String()
		if n := count[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		count[slug]++
	}
	return out
}

// brokenLinks returns every relative link in the files (paths relative to root) that points to a
// file that does not exist, or to a heading a Markdown file does not have.
func brokenLinks(root string, files []string) ([]string, error) {
	var bad []string
	for _, file := range files {
		text, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			return nil, err
		}
		prose := inlineCode.ReplaceAllString(fencedCode.ReplaceAllString(string(text), ""), "")
		for _, m := range mdLink.FindAllStringSubmatch(prose, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, fragment, _ := strings.Cut(target, "#")
			full := filepath.Join(root, file) // a bare #fragment is a heading of this file
			if path != "" {
				full = filepath.Join(root, filepath.Dir(file), path)
			}
			if _, err := os.Stat(full); err != nil {
				bad = append(bad, fmt.Sprintf("%s links to %s, which does not exist", file, target))
				continue
			}
			if fragment == "" || !strings.HasSuffix(full, ".md") {
				continue
			}
			linked, err := os.ReadFile(full)
			if err != nil {
				return nil, err
			}
			if !anchors(string(linked))[fragment] {
				bad = append(bad, fmt.Sprintf("%s links to %s, which has no heading #%s", file, target, fragment))
			}
		}
	}
	return bad, nil
}

// TestDocsLinks fails when a relative link in README.md or docs/*.md points to a file that does
// not exist or to a heading that is not there.
func TestDocsLinks(t *testing.T) {
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md"}
	for _, d := range docs {
		files = append(files, filepath.Join("docs", filepath.Base(d)))
	}
	bad, err := brokenLinks(repoRoot, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// TestDocsCheckersCatchMistakes shows that the two checks above fail when they should.
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

	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(dir, "docs"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "README.md"), []byte("See [the API](docs/API.md#the-binary-vigil), "+
		"[gone](docs/GONE.md), [nowhere](docs/API.md#nowhere), [web](https://example.org/x.md), [top](#readme), "+
		"`[code](not/a/link.md)` and [the licence](LICENSE).\n\n```\n[fenced](no/such/file)\n```\n# Readme\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "docs", "API.md"), []byte("# The binary: `vigil`\n\nBack [home](../README.md).\n"), 0o644))
	bad, err := brokenLinks(dir, []string{"README.md", "docs/API.md"})
	must(err)
	want = []string{
		"README.md links to docs/GONE.md, which does not exist",
		"README.md links to docs/API.md#nowhere, which has no heading #nowhere",
		"README.md links to LICENSE, which does not exist",
	}
	if !slices.Equal(bad, want) {
		t.Errorf("brokenLinks:\n got %q\nwant %q", bad, want)
	}
}
