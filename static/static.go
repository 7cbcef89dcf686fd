// Package static holds Vigil's stylesheets, scripts and vendored front-end libraries, embedded in
// the binary, and serves them under content-hashed URLs that browsers may cache for a year.
//
// Vigil's own scripts are native ES modules under js/ that import each other by relative URL
// ("./format.js"). Such an import names the plain URL, which is not served; the page's import map
// (ImportMap) turns each plain URL into the hashed one, so every module is fetched by its content's
// URL and a changed module is never taken from a cache.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// files are the assets. js/live holds the live pages' modules; js/test and js/package.json are for
// Node's test runner only and stay out of the binary.
//
//go:embed css img js/live vendor
var files embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/static/"

// served lists the file types that are assets; everything else embedded (licences, the refresh
// script, notes) stays private.
var served = map[string]bool{".css": true, ".js": true, ".svg": true, ".png": true, ".woff2": true}

// modules are the assets that are Vigil's own ES modules: the scripts under js/ (vendored
// libraries are classic scripts).
const modules = "js/"

// Assets maps asset names (e.g. "css/vigil.css") to content-hashed URLs and serves them.
type Assets struct {
	byName    map[string]*asset // "css/vigil.css"
	byHashed  map[string]*asset // "css/vigil.0123456789.css"
	importMap map[string]string // "/static/js/live/format.js": "/static/js/live/format.0123456789.js"
}

type asset struct {
	hashedName  string
	contentType string
	body        []byte
}

// New reads the embedded files and hashes them.
func New() (*Assets, error) {
	a := &Assets{byName: map[string]*asset{}, byHashed: map[string]*asset{}, importMap: map[string]string{}}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !served[path.Ext(name)] {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		as := &asset{
			hashedName:  strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext,
			contentType: mime.TypeByExtension(ext),
			body:        body,
		}
		a.byName[name], a.byHashed[as.hashedName] = as, as
		if strings.HasPrefix(name, modules) && ext == ".js" {
			a.importMap[Prefix+name] = Prefix + as.hashedName
		}
		return nil
	})
	return a, err
}

// URL returns the content-hashed URL of the named asset. An unknown name yields its plain URL,
// which answers 404, so a typo shows up as a missing file rather than a broken page.
func (a *Assets) URL(name string) string {
	if as, ok := a.byName[name]; ok {
		return Prefix + as.hashedName
	}
	return Prefix + name
}

// ImportMap maps the plain URL of each of Vigil's ES modules to its content-hashed URL: the
// "imports" of the import map that a page loading the modules must carry before its first module
// script. The map is shared; callers must not change it.
func (a *Assets) ImportMap() map[string]string { return a.importMap }

// ServeHTTP serves an asset by its hashed URL, cacheable for a year and never revalidated: a new
// version has a new URL.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	as, ok := a.byHashed[strings.TrimPrefix(r.URL.Path, Prefix)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", as.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(as.body))
}
