package provider

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
)

// maxLoginForm bounds the size of a login form post.
const maxLoginForm = 16 << 10

// login serves the sign-in page that op redirects to (Client.LoginURL) and, once the user is
// signed in, sends the browser back to op's authorize callback.
type login struct {
	store      *storage
	log        *slog.Logger
	callback   func(authRequestID string) string
	stylesheet string
}

// page is what the login template renders.
type page struct {
	ID, Username, Error string
	Expired, SignedOut  bool
	Stylesheet          string
}

// pageTemplate is deliberately plain: no scripts, no style attributes (Vigil's CSP forbids
// both), labelled fields, and an alert for errors.
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigil demo sign-in</title>
{{with .Stylesheet}}<link rel="stylesheet" href="{{.}}">{{end}}
</head>
<body>
<main id="main" class="wrap">
<h1>Vigil demo sign-in</h1>
{{- if .SignedOut}}
<p>You are signed out of the demo provider.</p>
{{- else if .Expired}}
<p role="alert">This sign-in request is unknown or has expired. Return to Vigil and sign in again.</p>
{{- else}}
<p>This is Vigil's built-in demo identity provider. Every demo password is <code>vigil-demo</code>.</p>
{{- if .Error}}
<p role="alert" id="login-error">{{.Error}}</p>
{{- end}}
<form method="post">
<input type="hidden" name="authRequestID" value="{{.ID}}">
<p class="field"><label for="username">Username</label>
<input id="username" name="username" type="text" value="{{.Username}}" autocomplete="username" autocapitalize="none" spellcheck="false" required{{if .Error}} aria-describedby="login-error"{{end}}></p>
<p class="field"><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit" class="button button-primary">Sign in</button></p>
</form>
{{- end}}
</main>
</body>
</html>
`))

// show renders the form for the auth request named in the query.
func (l *login) show(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	if !l.store.requestPending(id) {
		l.render(w, http.StatusBadRequest, page{Expired: true})
		return
	}
	l.render(w, http.StatusOK, page{ID: id})
}

// submit checks the posted credentials. Wrong ones re-render the form with 401 and leave the
// auth request usable; right ones redirect (303) to op's callback, which redirects to the client.
func (l *login) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The sign-in form could not be read.", http.StatusBadRequest)
		return
	}
	id, username := r.PostForm.Get("authRequestID"), r.PostForm.Get("username")
	clientID, err := l.store.signIn(id, username, r.PostForm.Get("password"))
	switch {
	case errors.Is(err, errUnknownRequest):
		l.render(w, http.StatusBadRequest, page{Expired: true})
	case err != nil:
		// The attempted username is not logged: people type passwords into it.
		l.log.Warn("oidc provider: sign-in refused", "client_id", clientID)
		l.render(w, http.StatusUnauthorized, page{ID: id, Username: username, Error: "Unknown username or password."})
	default:
		l.log.Info("oidc provider: signed in", "client_id", clientID)
		http.Redirect(w, r, l.callback(id), http.StatusSeeOther)
	}
}

// showLoggedOut is where end_session sends the browser when no post_logout_redirect_uri applies.
func (l *login) showLoggedOut(w http.ResponseWriter, _ *http.Request) {
	l.render(w, http.StatusOK, page{SignedOut: true})
}

func (l *login) render(w http.ResponseWriter, status int, p page) {
	p.Stylesheet = l.stylesheet
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, p)
}
