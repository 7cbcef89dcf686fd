package main

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// outcome is what a request should get.
type outcome int

const (
	allow  outcome = iota // 200, or 303 onward for a form that succeeded
	hidden                // 404: the patient does not exist for this viewer
	signIn                // a page: redirect to sign in; the API: 401
)

func (o outcome) String() string { return [...]string{"allow", "404", "sign-in"}[o] }

// who may see whom in the demo hospital (API.md).
type patientKind int

const (
	rivera     patientKind = iota // cardiology, shared with dr.patel, is pat.rivera
	cardiology                    // another cardiology patient
	pulmonary
)

var patientMRN = map[patientKind]string{rivera: "H1000001", cardiology: "H1000002", pulmonary: "H1000101"}

func reads(user string, p patientKind) outcome {
	switch {
	case user == "":
		return signIn
	case (user == "nurse.kim" || user == "dr.osei") && p != pulmonary,
		user == "nurse.lee" && p == pulmonary,
		(user == "dr.patel" || user == "pat.rivera") && p == rivera:
		return allow
	}
	return hidden
}

func cares(user string, p patientKind) outcome {
	if user == "" {
		return signIn
	}
	if (user == "nurse.kim" || user == "dr.osei") && p != pulmonary || user == "nurse.lee" && p == pulmonary {
		return allow
	}
	return hidden
}

// accessMatrix says, for every route that takes a patient id, what each demo user (and nobody)
// gets for each kind of patient. A route with :patient that is missing here fails the test.
var accessMatrix = map[string]func(user string, p patientKind) outcome{
	"GET /patients/:patient":                           reads,
	"POST /patients/:patient/shares":                   cares,
	"POST /patients/:patient/devices":                  cares,
	"POST /patients/:patient/news2-inputs":             cares,
	"GET /patients/:patient/rules":                     cares,
	"POST /patients/:patient/rules":                    cares,
	"POST /patients/:patient/rules/preview":            cares,
	"POST /patients/:patient/rules/reset":              cares,
	"POST /patients/:patient/devices/:device/end":      cares,
	"POST /patients/:patient/devices/:device/interval": cares,
	"GET /api/v1/patients/:patient":                    reads,
	"GET /api/v1/patients/:patient/readings":           reads,
	"GET /api/v1/patients/:patient/series":             reads,
	"POST /api/v1/patients/:patient/devices":           cares,
	"DELETE /api/v1/patients/:patient/devices/:device": cares,
}

// alertMatrix is the same for every route that takes an alert id: it is judged by the alert's
// patient. Anyone who may see the patient reads the alert's history; only the care team acts (a
// primary care physician with a share gets the same 404 as anyone else).
var alertMatrix = map[string]func(user string, p patientKind) outcome{
	"GET /alerts/:alert":                     reads,
	"POST /alerts/:alert/acknowledge":        cares,
	"POST /alerts/:alert/snooze":             cares,
	"POST /alerts/:alert/resolve":            cares,
	"POST /alerts/:alert/actionable":         cares,
	"POST /api/v1/alerts/:alert/acknowledge": cares,
	"POST /api/v1/alerts/:alert/snooze":      cares,
	"POST /api/v1/alerts/:alert/resolve":     cares,
	"POST /api/v1/alerts/:alert/actionable":  cares,
}

// routeQuery is the query a route needs to answer 200 when allowed.
var routeQuery = map[string]string{"GET /api/v1/patients/:patient/series": "?code=8867-4&range=1h"}

var matrixUsers = []string{"", "admin", "nurse.kim", "dr.osei", "nurse.lee", "dr.patel", "pat.rivera"}

func TestAccessMatrix(t *testing.T) {
	d := startDemo(t)
	browsers := map[string]*browser{}
	tokens := map[string]string{}
	for _, u := range matrixUsers {
		b := d.browser(t)
		if u != "" {
			tokens[u] = csrfToken(t, b.signIn(u, "vigil-demo").body)
		}
		browsers[u] = b
	}
	patel := d.userID(t, "dr.patel")
	alerts := map[patientKind]string{}
	for kind, mrn := range patientMRN {
		alerts[kind] = d.openAlert(t, mrn, "59408-5", "high", "SpO₂ below 90 % for 2 min", 1)
	}

	// Reads first: the share form's successes must not change what the reads see.
	all := d.app.server.Routes()
	slices.SortStableFunc(all, func(a, b *echo.Route) int { return strings.Compare(a.Method, b.Method) })
	routes := 0
	for _, r := range all {
		key := r.Method + " " + r.Path
		matrix := accessMatrix
		switch {
		case strings.Contains(r.Path, ":patient"):
		case strings.Contains(r.Path, ":alert"):
			matrix = alertMatrix
		default:
			continue
		}
		expect, ok := matrix[key]
		if !ok {
			t.Errorf("route %s takes a patient or alert id but is not in the access matrix", key)
			continue
		}
		routes++
		for _, user := range matrixUsers {
			for kind, mrn := range patientMRN {
				path := strings.Replace(r.Path, ":patient", d.patientID(t, mrn), 1)
				path = strings.Replace(path, ":alert", alerts[kind], 1)
				path = strings.Replace(path, ":device", "00000000-0000-4000-8000-000000000000", 1)
				want := expect(user, kind)
				var got response
				switch r.Method {
				case http.MethodGet:
					got = browsers[user].get(path + routeQuery[key])
				case http.MethodPost:
					// A valid share; an empty device choice (the gate comes before the form's checks).
					got = browsers[user].post(path, url.Values{"_csrf": {tokens[user]}, "grantee": {patel},
						"reason": {"Matrix test"}, "days": {"1"}})
				default:
					req, _ := http.NewRequest(r.Method, d.base+path, nil)
					req.Header.Set("X-CSRF-Token", tokens[user])
					got = browsers[user].do(req)
				}
				if !matches(got, want, r.Method, path) {
					t.Errorf("%s as %q on %s patient: got %d at %s, want %s", key, user, mrn, got.status, got.url.Path, want)
				}
			}
		}
	}
	if routes != len(accessMatrix)+len(alertMatrix) {
		t.Errorf("checked %d routes, the matrices have %d", routes, len(accessMatrix)+len(alertMatrix))
	}
	assertDenialsAudited(t, d, len(accessMatrix)+len(alertMatrix))
}

// matches says whether a response is the expected outcome. A read that is allowed must succeed;
// an allowed action must get past the gate (its own checks may still refuse the made-up device).
func matches(got response, want outcome, method, path string) bool {
	hiddenAnswer := got.status == http.StatusNotFound &&
		(strings.Contains(got.body, "no such patient") || strings.Contains(got.body, "no such alert"))
	switch want {
	case allow:
		if method == http.MethodGet {
			return got.status == http.StatusOK && got.url.Path == path
		}
		return !hiddenAnswer && got.status < 500 && got.status != http.StatusUnauthorized && got.status != http.StatusForbidden
	case hidden:
		return hiddenAnswer
	default:
		if strings.HasPrefix(path, "/api/") {
			return got.status == http.StatusUnauthorized
		}
		// A page sends the browser to sign in: it ends on the provider's login form.
		return strings.HasPrefix(got.url.Path, "/oidc/") || got.status == http.StatusUnauthorized
	}
}

// assertDenialsAudited: nurse.lee's attempts on a cardiology patient (and their alerts) are in the
// audit trail, at least want of them.
func assertDenialsAudited(t *testing.T, d *demoApp, want int) {
	var denials int
	err := d.db.QueryRow(context.Background(), `
		SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.actor_id
		WHERE u.username = 'nurse.lee' AND NOT a.allowed AND a.patient_id = $1`, d.patientID(t, "H1000002")).Scan(&denials)
	if err != nil || denials < want {
		t.Errorf("nurse.lee's denials on a cardiology patient: %d audited (%v), want at least %d", denials, err, want)
	}
}

// TestAdminRoutesAreAdminsOnly: every route under /admin (and the fleet API) answers a clinician,
// a primary care physician and a patient with the same 404 as a page that does not exist, records
// the denial, and sends nobody to sign in; the handler never runs.
func TestAdminRoutesAreAdminsOnly(t *testing.T) {
	d := startDemo(t)
	users := []string{"", "nurse.kim", "dr.patel", "pat.rivera"}
	browsers, tokens := map[string]*browser{}, map[string]string{}
	for _, u := range users {
		browsers[u] = d.browser(t)
		if u != "" {
			tokens[u] = csrfToken(t, browsers[u].signIn(u, "vigil-demo").body)
		}
	}
	id := "00000000-0000-4000-8000-000000000000"
	routes := 0
	for _, r := range d.app.server.Routes() {
		if r.Method == echo.RouteNotFound || !strings.HasPrefix(r.Path, "/admin") && !strings.HasPrefix(r.Path, "/api/v1/devices") {
			continue
		}
		routes++
		path := r.Path
		for _, param := range []string{":team", ":user", ":device", ":webhook"} {
			path = strings.ReplaceAll(path, param, id)
		}
		for _, user := range users {
			req, _ := http.NewRequest(r.Method, d.base+path, strings.NewReader(url.Values{"_csrf": {tokens[user]}, "reason": {"x"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			got := browsers[user].do(req)
			want := hidden
			if user == "" {
				want = signIn
			}
			ok := got.status == http.StatusNotFound && strings.Contains(got.body, "There is nothing here")
			if want == signIn {
				ok = matches(got, signIn, r.Method, path)
			}
			if !ok {
				t.Errorf("%s %s as %q: got %d at %s, want %s", r.Method, r.Path, user, got.status, got.url.Path, want)
			}
		}
	}
	if routes < 20 {
		t.Errorf("checked %d admin routes; are they still under /admin?", routes)
	}
	var denials int
	err := d.db.QueryRow(context.Background(), `
		SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.actor_id
		WHERE u.username = 'nurse.kim' AND NOT a.allowed AND a.object_id = '/admin/rules'`).Scan(&denials)
	if err != nil || denials != 2 {
		t.Errorf("nurse.kim's denials on /admin/rules: %d (%v), want 2 (GET and POST)", denials, err)
	}
}
