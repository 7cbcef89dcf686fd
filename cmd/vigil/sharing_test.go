package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// shareForm is a valid share of a patient with dr.patel for one day.
func shareForm(d *demoApp, t *testing.T, token string) url.Values {
	return url.Values{"_csrf": {token}, "grantee": {d.userID(t, "dr.patel")}, "reason": {"Review after discharge"}, "days": {"1"}}
}

func TestSharingStartsAndStopsAtOnce(t *testing.T) {
	d := startDemo(t)
	ctx := context.Background()
	kim, patel := d.browser(t), d.browser(t)
	token := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	patel.signIn("dr.patel", "vigil-demo")
	nakamura := d.patientID(t, "H1000002")

	if page := patel.get("/patients/" + nakamura); page.status != http.StatusNotFound {
		t.Fatalf("before the share dr.patel got %d", page.status)
	}
	if page := kim.post("/patients/"+nakamura+"/shares", shareForm(d, t, token)); page.status != http.StatusOK {
		t.Fatalf("sharing: %d\n%.300s", page.status, page.body)
	}
	page := patel.get("/patients/" + nakamura)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Shared with you, read-only, until") {
		t.Fatalf("after the share dr.patel got %d", page.status)
	}
	if strings.Contains(page.body, `action="/patients/`+nakamura+`/shares"`) {
		t.Error("a primary care physician is offered the share form")
	}
	if got := patel.post("/patients/"+nakamura+"/shares", shareForm(d, t, csrfToken(t, page.body))); got.status != http.StatusNotFound {
		t.Errorf("dr.patel re-shared a patient: %d", got.status)
	}

	// Expiry takes effect at the moment of access: no job runs in between.
	if _, err := d.db.Exec(ctx, `UPDATE shares SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second'
		WHERE patient_id = $1`, nakamura); err != nil {
		t.Fatal(err)
	}
	if page := patel.get("/patients/" + nakamura); page.status != http.StatusNotFound {
		t.Errorf("after expiry dr.patel got %d", page.status)
	}
	if page := patel.get("/api/v1/patients/" + nakamura + "/readings"); page.status != http.StatusNotFound {
		t.Errorf("after expiry the API gave dr.patel %d", page.status)
	}

	// The patient revokes the share of her own record.
	rivera := d.patientID(t, "H1000001")
	if page := patel.get("/patients/" + rivera); page.status != http.StatusOK {
		t.Fatalf("dr.patel cannot see Pat Rivera: %d", page.status)
	}
	pat := d.browser(t)
	portal := pat.signIn("pat.rivera", "vigil-demo")
	if !strings.Contains(portal.body, "Dr Priya Patel") || !strings.Contains(portal.body, "Cardiology RPM") {
		t.Fatalf("the portal does not list who can see the record:\n%.2000s", portal.body)
	}
	shareID := d.id(t, `SELECT id FROM shares WHERE patient_id = $1 AND revoked_at IS NULL`, rivera)
	if page := pat.post("/shares/"+shareID+"/revoke", url.Values{"_csrf": {csrfToken(t, portal.body)}}); page.status != http.StatusOK || page.url.Path != "/me" {
		t.Fatalf("revoking: %d at %s", page.status, page.url)
	}
	if page := patel.get("/patients/" + rivera); page.status != http.StatusNotFound {
		t.Errorf("after revocation dr.patel got %d", page.status)
	}

	// A patient cannot touch another patient's shares.
	otherShare := d.id(t, `SELECT id FROM shares WHERE patient_id = $1`, nakamura)
	if page := pat.post("/shares/"+otherShare+"/revoke", url.Values{"_csrf": {csrfToken(t, portal.body)}}); page.status != http.StatusNotFound {
		t.Errorf("pat.rivera revoked someone else's share: %d", page.status)
	}
}

func TestStateChangesNeedTheCSRFToken(t *testing.T) {
	d := startDemo(t)
	kim := d.browser(t)
	token := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	nakamura := d.patientID(t, "H1000002")
	for name, form := range map[string]url.Values{
		"no token":    {"grantee": {d.userID(t, "dr.patel")}, "reason": {"x"}, "days": {"1"}},
		"wrong token": {"_csrf": {"forged"}, "grantee": {d.userID(t, "dr.patel")}, "reason": {"x"}, "days": {"1"}},
	} {
		if page := kim.post("/patients/"+nakamura+"/shares", form); page.status != http.StatusForbidden {
			t.Errorf("%s: %d", name, page.status)
		}
	}
	if page := kim.post("/signout", nil); page.status != http.StatusForbidden {
		t.Errorf("sign-out without a token: %d", page.status)
	}
	var shares int
	d.db.QueryRow(context.Background(), `SELECT count(*) FROM shares WHERE patient_id = $1`, nakamura).Scan(&shares)
	if shares != 0 {
		t.Errorf("%d shares made without a valid token", shares)
	}
	// The header form works for scripts.
	req, _ := http.NewRequest(http.MethodPost, d.base+"/patients/"+nakamura+"/shares", strings.NewReader(shareForm(d, t, "").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", token)
	if page := kim.do(req); page.status != http.StatusOK {
		t.Errorf("share with the header token: %d", page.status)
	}
}

func TestAuditTrail(t *testing.T) {
	d := startDemo(t)
	ctx := context.Background()
	kim, lee := d.browser(t), d.browser(t)
	token := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	lee.signIn("nurse.lee", "vigil-demo")
	nakamura := d.patientID(t, "H1000002")

	view := kim.get("/patients/" + nakamura)
	denied := lee.get("/patients/" + nakamura)
	kim.post("/patients/"+nakamura+"/shares", shareForm(d, t, token))

	type row struct {
		actor, role, action, object string
		allowed                     bool
		requestID, addr             string
	}
	rows := map[string]row{}
	r, err := d.db.Query(ctx, `
		SELECT u.username, a.actor_role, a.action, a.object_type, a.allowed, a.request_id, host(a.remote_addr)
		FROM audit_log a JOIN users u ON u.id = a.actor_id
		WHERE a.patient_id = $1 ORDER BY a.id`, nakamura)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var x row
		if err := r.Scan(&x.actor, &x.role, &x.action, &x.object, &x.allowed, &x.requestID, &x.addr); err != nil {
			t.Fatal(err)
		}
		if _, seen := rows[x.actor+" "+x.action]; !seen { // the first of each: the share's redirect views again
			rows[x.actor+" "+x.action] = x
		}
	}
	r.Close()
	read, ok := rows["nurse.kim patient.view"]
	if !ok || !read.allowed || read.role != "clinician" || read.requestID != view.header.Get("X-Request-Id") || read.addr != "127.0.0.1" {
		t.Errorf("kim's read: %+v (response id %s)", read, view.header.Get("X-Request-Id"))
	}
	denial, ok := rows["nurse.lee patient.view"]
	if !ok || denial.allowed || denial.requestID != denied.header.Get("X-Request-Id") {
		t.Errorf("lee's denial: %+v", denial)
	}
	if share, ok := rows["nurse.kim share.create"]; !ok || !share.allowed {
		t.Errorf("kim's share: %+v", share)
	}

	// The chain verifies, and a row changed behind Vigil's back is found.
	var out, errOut bytes.Buffer
	env := func(k string) string { return map[string]string{"VIGIL_DATABASE_URL": d.dbURL}[k] }
	if code := run(ctx, []string{"audit", "verify"}, env, &out, &errOut); code != 0 || !strings.Contains(out.String(), "chain intact") {
		t.Fatalf("verify on an untouched trail: exit %d: %s %s", code, out.String(), errOut.String())
	}
	if _, err := d.db.Exec(ctx, `UPDATE audit_log SET allowed = true WHERE id = (SELECT min(id) FROM audit_log WHERE NOT allowed)`); err == nil {
		t.Fatal("the database let the application change an audit row")
	}
	tamper := `ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
		UPDATE audit_log SET allowed = true WHERE id = (SELECT min(id) FROM audit_log WHERE NOT allowed);
		ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;`
	if _, err := d.db.Exec(ctx, tamper); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(ctx, []string{"audit", "verify"}, env, &out, &errOut); code != 1 || !strings.Contains(out.String(), "BROKEN") {
		t.Errorf("verify on a tampered trail: exit %d: %s", code, out.String())
	}
}

// TestSharesGoOnlyToPrimaryCarePhysicians: a share cannot open a patient to a clinician of another
// team (or anyone who is not a primary care physician), and odd form text is a form error.
func TestSharesGoOnlyToPrimaryCarePhysicians(t *testing.T) {
	d := startDemo(t)
	kim, lee := d.browser(t), d.browser(t)
	token := csrfToken(t, kim.signIn("nurse.kim", "vigil-demo").body)
	lee.signIn("nurse.lee", "vigil-demo")
	nakamura := d.patientID(t, "H1000002")
	form := shareForm(d, t, token)
	form.Set("grantee", d.userID(t, "nurse.lee"))
	if page := kim.post("/patients/"+nakamura+"/shares", form); page.status != http.StatusUnprocessableEntity {
		t.Errorf("share with a clinician of another team: %d", page.status)
	}
	if page := lee.get("/patients/" + nakamura); page.status != http.StatusNotFound {
		t.Errorf("nurse.lee sees a cardiology patient: %d", page.status)
	}
	for _, reason := range []string{"ok\xff", "ok\x00", strings.Repeat("x", 201)} {
		form := shareForm(d, t, token)
		form.Set("reason", reason)
		if page := kim.post("/patients/"+nakamura+"/shares", form); page.status != http.StatusUnprocessableEntity {
			t.Errorf("reason %q: %d", reason, page.status)
		}
	}
}

// TestListsAuditEachPatient: a list shows names, MRNs and vitals, so each patient on it is recorded.
func TestListsAuditEachPatient(t *testing.T) {
	d := startDemo(t)
	kim := d.browser(t)
	kim.signIn("nurse.kim", "vigil-demo") // lands on /patients
	kim.get("/api/v1/patients")
	var entries, patients int
	d.db.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT patient_id)
		FROM audit_log a JOIN users u ON u.id = a.actor_id
		WHERE u.username = 'nurse.kim' AND a.action = 'patient.list' AND a.patient_id IS NOT NULL`).Scan(&entries, &patients)
	if entries != 14 || patients != 7 {
		t.Errorf("patient.list entries: %d for 2 lists of 7, covering %d patients", entries, patients)
	}
}
