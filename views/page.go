// Package views holds Vigil's HTML as typed templ components. Views do no I/O: handlers load what a
// page shows and pass it in as typed parameters; only cross-cutting values (asset URLs, the CSRF
// token, the signed-in user, demo mode, and templ's CSP nonce) travel in the context, set once per
// request.
package views

import (
	"context"
	"time"

	"github.com/a-h/templ"

	"github.com/vigil-rpm/vigil/rpm"
)

// Page is what every page's layout needs to know about the request.
type Page struct {
	// Asset maps an asset name ("css/vigil.css") to its content-hashed URL.
	Asset func(name string) string
	// Modules maps the plain URL of each script module to its content-hashed URL; the layout
	// publishes it as the page's import map, so the modules' imports of each other load the
	// hashed files. The map's script element carries the request's CSP nonce (templ.WithNonce).
	Modules map[string]string
	// CSRFToken is exposed in a meta tag for scripts that change state.
	CSRFToken string
	// Demo marks a demo instance, shown on every page.
	Demo bool
	// Path is the request path, to mark the current navigation entry.
	Path string
	// Viewer is the signed-in user, nil for nobody.
	Viewer *Viewer
	// Now is when the page is rendered.
	Now time.Time
	// Clock is how the viewer reads times: their zone (or the hospital's), 24 or 12 hours. The
	// layout names it on every page and hands it to the page scripts.
	Clock rpm.Clock
}

// Viewer is the signed-in user as the page frame shows them.
type Viewer struct {
	Name  string
	Roles []rpm.Role
}

func (v *Viewer) has(role rpm.Role) bool {
	if v == nil {
		return false
	}
	for _, r := range v.Roles {
		if r == role {
			return true
		}
	}
	return false
}

type pageKey struct{}

// WithPage returns a context carrying p for the views rendered with it.
func WithPage(ctx context.Context, p Page) context.Context {
	return context.WithValue(ctx, pageKey{}, p)
}

func page(ctx context.Context) Page {
	p, _ := ctx.Value(pageKey{}).(Page)
	if p.Asset == nil {
		p.Asset = func(name string) string { return "/static/" + name }
	}
	return p
}

func asset(ctx context.Context, name string) string { return page(ctx).Asset(name) }

// clock is the viewer's clock.
func clock(ctx context.Context) rpm.Clock { return page(ctx).Clock }

// hourCycle is the page's clock for its scripts, as Intl.DateTimeFormat names it: "h23" or "h12".
func hourCycle(ctx context.Context) string {
	if clock(ctx).Hour12 {
		return "h12"
	}
	return "h23"
}

// importMap is a page's import map (https://html.spec.whatwg.org/#import-maps).
type importMap struct {
	Imports map[string]string `json:"imports"`
}

// moduleMap is the import map of the page's modules, rendered as an inline script that carries
// the request's CSP nonce.
func moduleMap(ctx context.Context) templ.Component {
	m := importMap{Imports: page(ctx).Modules}
	if m.Imports == nil {
		m.Imports = map[string]string{}
	}
	return templ.JSONScript("", m).WithType("importmap")
}

// navItem is one entry of the main navigation, shown to viewers holding Role ("" for everyone).
type navItem struct {
	Label, Href string
	Role        rpm.Role
}

// navFor returns the navigation entries the viewer may use, each address once (the first entry
// for it wins when the viewer holds several roles).
func navFor(v *Viewer) []navItem {
	var items []navItem
	seen := map[string]bool{}
	for _, item := range nav {
		if (item.Role == "" || v.has(item.Role)) && !seen[item.Href] {
			seen[item.Href] = true
			items = append(items, item)
		}
	}
	return items
}

// current reports whether href is the page being shown ("/" only for the home page itself).
func current(ctx context.Context, href string) bool {
	path := page(ctx).Path
	if href == "/" {
		return path == "/"
	}
	return path == href || len(path) > len(href) && path[:len(href)] == href && path[len(href)] == '/'
}
