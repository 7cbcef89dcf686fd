package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// TestAdminWebhook: an admin adds a webhook to a care team through the real sign-in; its secret is
// shown once and never again; an alert of one of the team's patients reaches the endpoint signed
// with that secret, and the delivery shows on the page; disabling and deleting are audited.
func TestAdminWebhook(t *testing.T) {
	d := startDemo(t)
	var mu sync.Mutex
	var bodies, signatures []string
	var secretSeen string
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		mac := hmac.New(sha256.New, []byte(secretSeen))
		mac.Write([]byte(r.Header.Get("X-Vigil-Timestamp") + "." + string(body)))
		bodies = append(bodies, string(body))
		signatures = append(signatures, strings.TrimPrefix(r.Header.Get("X-Vigil-Signature"), "sha256=")+" "+hex.EncodeToString(mac.Sum(nil)))
		w.WriteHeader(http.StatusOK)
	}))
	defer endpoint.Close()

	admin := d.browser(t)
	token := csrfToken(t, admin.signIn("admin", "vigil-demo").body)
	team := d.id(t, `SELECT id FROM care_teams WHERE name = 'Cardiology RPM'`)
	if page := admin.post("/admin/teams/"+team+"/webhooks", url.Values{"_csrf": {token}, "url": {"http://pager.example.org/"}}); page.status != http.StatusUnprocessableEntity ||
		!strings.Contains(page.body, "must start with https://") {
		t.Errorf("a plain-http webhook elsewhere than localhost: %d", page.status)
	}
	created := admin.post("/admin/teams/"+team+"/webhooks", url.Values{"_csrf": {token}, "url": {endpoint.URL + "/vigil"}})
	m := regexp.MustCompile(`id="webhook-secret">([A-Za-z0-9_-]{32,})<`).FindStringSubmatch(created.body)
	if created.status != http.StatusCreated || m == nil || created.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d, no secret shown\n%s", created.status, created.body)
	}
	secret := m[1]
	mu.Lock()
	secretSeen = secret
	mu.Unlock()
	sum := sha256.Sum256([]byte(secret))
	teams := admin.get("/admin/teams")
	if teams.status != http.StatusOK || strings.Contains(teams.body, secret) || !strings.Contains(teams.body, hex.EncodeToString(sum[:])[:6]) ||
		!strings.Contains(teams.body, endpoint.URL+"/vigil") {
		t.Fatalf("teams page after creation: %d; secret hidden %t", teams.status, !strings.Contains(teams.body, secret))
	}
	hook := d.id(t, `SELECT id FROM team_webhooks WHERE team_id = $1`, team)

	// An alert of a cardiology patient, sent by the engine's sender.
	ctx, cancel := context.WithCancel(context.Background())
	sent := make(chan struct{})
	go func() { d.app.alerts.RunWebhooks(ctx); close(sent) }()
	defer func() { cancel(); <-sent }()
	patient, rule := d.patientID(t, "H1000002"), d.id(t, `SELECT id FROM alert_rules WHERE scope = 'hospital' AND kind = 'threshold' LIMIT 1`)
	now := time.Now()
	err := d.store.InAlertTx(ctx, []string{patient}, func(tx *store.AlertTx) error {
		_, err := tx.SaveAlert(ctx, store.AlertWrite{Alert: rpm.Alert{PatientID: patient, RuleID: rule, Severity: rpm.SeverityHigh, State: rpm.AlertFiring,
			Tier: 1, Summary: "SpO₂ 88 % for 2 minutes", OpenedAt: now, LastTriggeredAt: now, EscalatedAt: now},
			Events: []rpm.AlertEvent{{Kind: "fired"}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(admin.get("/admin/teams").body, "delivered (200)") }, "delivery on the page")
	// The demo's devices never reported, so the timers page their technical alerts too; this
	// test's alert is the clinical one.
	var clinical, signed []string
	waitFor(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		clinical, signed = clinical[:0], signed[:0]
		for i, b := range bodies {
			if strings.Contains(b, `"category": "clinical"`) {
				clinical, signed = append(clinical, b), append(signed, signatures[i])
			}
		}
		return len(clinical) > 0
	}, "the clinical alert's delivery")
	if len(clinical) != 1 || !strings.Contains(clinical[0], patient) || strings.Contains(clinical[0], "Nakamura") {
		t.Errorf("the endpoint got %q", bodies)
	}
	if sig := strings.Fields(signed[0]); sig[0] != sig[1] {
		t.Errorf("signature %s, want %s", sig[0], sig[1])
	}

	for _, action := range []string{"disable", "enable", "delete"} {
		if page := admin.post("/admin/teams/"+team+"/webhooks/"+hook+"/"+action, url.Values{"_csrf": {token}}); page.status != http.StatusOK {
			t.Errorf("%s: %d", action, page.status)
		}
	}
	if page := admin.post("/admin/teams/"+team+"/webhooks/"+hook+"/disable", url.Values{"_csrf": {token}}); page.status != http.StatusNotFound {
		t.Errorf("disable a deleted webhook: %d", page.status)
	}
	var audited int
	if err := d.db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1 AND object_id = $2`,
		rpm.ActionWebhookChange, hook).Scan(&audited); err != nil || audited != 4 {
		t.Errorf("%d audit entries for the webhook (%v), want 4", audited, err)
	}

	nurse := d.browser(t)
	nurseToken := csrfToken(t, nurse.signIn("nurse.kim", "vigil-demo").body)
	if page := nurse.post("/admin/teams/"+team+"/webhooks", url.Values{"_csrf": {nurseToken}, "url": {"https://x.example/"}}); page.status != http.StatusNotFound {
		t.Errorf("a nurse added a webhook: %d", page.status)
	}
}
