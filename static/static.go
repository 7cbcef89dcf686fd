// Package static holds Vigil's stylesheets, scripts and vendored front-end libraries, embedded in
// the binary, and serves them under content-hashed URLs that browsers may cache for a year.
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

//go:embed css js vendor
var files embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/static/"

// served lists the file types that are assets; everything else embedded (licences, the refresh
// script, notes) stays private.
var served = map[string]bool{".css": true, ".js": true, ".svg": true, ".png": true, ".woff2": true}

// Assets maps asset names (e.g. "css/vigil.css") to content-hashed URLs and serves them.
type Assets struct {
	byName   map[string]*asset // "css/vigil.css"
	byHashed map[string]*asset // "css/vigil.0123456789.css"
}

type asset struct {
	hashedName  string
	contentType string
	body        []byte
}

// New reads the embedded files and hashes them.
func New() (*Assets, error) {
	a := &Assets{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
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
