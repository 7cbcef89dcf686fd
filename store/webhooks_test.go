package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

// hookedPatient seeds the demo hospital and returns a patient and the id of one of their care
// teams, and a hospital rule.
func hookedPatient(t *testing.T, s *store.Store, conn *pgx.Conn) (patient, team, rule string) {
	t.Helper()
	ctx := context.Background()
	if err := s.SeedDemo(ctx, demo.New(), "http://issuer.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	err := conn.QueryRow(ctx, `SELECT p.id::text, pct.team_id::text, (SELECT id::text FROM alert_rules WHERE scope = 'hospital' LIMIT 1)
		FROM patients p JOIN patient_care_teams pct ON pct.patient_id = p.id WHERE p.mrn = 'H1000002'`).Scan(&patient, &team, &rule)
	if err != nil {
		t.Fatal(err)
	}
	return patient, team, rule
}

// fireAlert opens an alert for the patient with one "fired" event, which queues its deliveries.
func fireAlert(t *testing.T, s *store.Store, patient, rule string, now time.Time) string {
	t.Helper()
	ctx := context.Background()
	var id string
	err := s.InAlertTx(ctx, []string{patient}, func(tx *store.AlertTx) error {
		al, err := tx.SaveAlert(ctx, store.AlertWrite{Alert: rpm.Alert{PatientID: patient, RuleID: rule, Severity: rpm.SeverityHigh,
			State: rpm.AlertFiring, Tier: 1, Summary: "SpO₂ 88 % for 2 minutes", OpenedAt: now, LastTriggeredAt: now, EscalatedAt: now},
			Events: []rpm.AlertEvent{{Kind: rpm.EventFired, At: now}}})
		id = al.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestWebhookSecretShownOnce: the secret comes back from creation only; the list shows its
// fingerprint.
func TestWebhookSecretShownOnce(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)
	_, team, _ := hookedPatient(t, s, conn)
	w, secret, err := s.CreateWebhook(ctx, team, "https://pager.example.org/vigil", "")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	if len(secret) < 32 || w.Fingerprint != hex.EncodeToString(sum[:])[:6] || !w.Enabled {
		t.Errorf("created %+v with a secret of %d characters", w, len(secret))
	}
	_, other, _ := s.CreateWebhook(ctx, team, "https://pager.example.org/vigil", "")
	if other == secret {
		t.Error("two webhooks got the same secret")
	}
	hooks, err := s.Webhooks(ctx)
	if err != nil || len(hooks) != 2 || hooks[0] != w {
		t.Fatalf("listed %+v, %v; want %+v first", hooks, err, w)
	}
	if _, _, err := s.CreateWebhook(ctx, "00000000-0000-4000-8000-000000000000", "https://x.example", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("webhook on a missing team: %v", err)
	}
}

// TestClaimDeliveriesConcurrently: several claimers at once never take the same delivery, and
// together take every due one; a claimed delivery is not due again until its lease runs out.
func TestClaimDeliveriesConcurrently(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)
	_, team, _ := hookedPatient(t, s, conn)
	for range 3 {
		if _, _, err := s.CreateWebhook(ctx, team, "https://pager.example.org/vigil", ""); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := conn.Query(ctx, `SELECT patient_id::text FROM patient_care_teams WHERE team_id = $1 ORDER BY 1 LIMIT 4`, team)
	patients, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(patients) != 4 {
		t.Fatalf("patients of the team: %v, %v", patients, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, p := range patients {
		for _, rule := range rules(t, conn)[:10] { // 40 alerts, 120 deliveries
			fireAlert(t, s, p, rule, now)
		}
	}
	later := now.Add(time.Second)
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for {
				due, err := s.ClaimDeliveries(ctx, later, 7, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(due) == 0 {
					return
				}
				mu.Lock()
				for _, d := range due {
					seen[d.ID]++
					if d.Attempt != 1 || d.Secret == "" || len(d.Payload) == 0 {
						t.Errorf("claimed %d: attempt %d, secret set %t, payload %d bytes", d.ID, d.Attempt, d.Secret != "", len(d.Payload))
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 120 {
		t.Errorf("claimed %d distinct deliveries, want 120", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %d claimed %d times", id, n)
		}
	}
	if again, _ := s.ClaimDeliveries(ctx, later.Add(59*time.Second), 200, time.Minute); len(again) != 0 {
		t.Errorf("%d deliveries claimed again within the lease", len(again))
	}
	if again, _ := s.ClaimDeliveries(ctx, later.Add(61*time.Second), 200, time.Minute); len(again) != 120 || again[0].Attempt != 2 {
		t.Errorf("after the lease: %d claimed again", len(again))
	}
}

// TestDisabledWebhookGetsNothing: a disabled webhook gets no new deliveries and its pending ones
// are given up; recorded outcomes show on the admin's list.
func TestDisabledWebhookGetsNothing(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)
	patient, team, _ := hookedPatient(t, s, conn)
	rs := rules(t, conn)
	on, _, _ := s.CreateWebhook(ctx, team, "https://on.example.org/", "")
	off, _, _ := s.CreateWebhook(ctx, team, "https://off.example.org/", "")
	now := time.Now().UTC().Truncate(time.Microsecond)
	fireAlert(t, s, patient, rs[0], now)
	if err := s.SetWebhookEnabled(ctx, team, off.ID, false); err != nil {
		t.Fatal(err)
	}
	fireAlert(t, s, patient, rs[1], now)
	due, err := s.ClaimDeliveries(ctx, now.Add(time.Second), 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].WebhookID != on.ID || due[1].WebhookID != on.ID {
		t.Fatalf("claimed %+v, want the enabled webhook's two deliveries", due)
	}
	if err := s.RecordDelivery(ctx, due[0].ID, store.DeliveryResult{Status: 204, DeliveredAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDelivery(ctx, due[1].ID, store.DeliveryResult{Status: 503, Error: "HTTP 503", RetryAt: now.Add(10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	recent, err := s.RecentDeliveries(ctx, []string{on.ID, off.ID}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(recent[off.ID]) != 1 || recent[off.ID][0].FailedAt.IsZero() || recent[off.ID][0].LastError != "webhook disabled" {
		t.Errorf("the disabled webhook's deliveries: %+v", recent[off.ID])
	}
	if len(recent[on.ID]) != 2 || recent[on.ID][0].Event != "fired" {
		t.Fatalf("the enabled webhook's deliveries: %+v", recent[on.ID])
	}
	var delivered, retried store.WebhookDelivery
	for _, d := range recent[on.ID] {
		if d.ID == due[0].ID {
			delivered = d
		} else {
			retried = d
		}
	}
	if !delivered.DeliveredAt.Equal(now) || delivered.LastStatus != 204 || delivered.Attempts != 1 {
		t.Errorf("delivered: %+v", delivered)
	}
	if !retried.NextAttemptAt.Equal(now.Add(10*time.Second)) || retried.LastStatus != 503 || !retried.DeliveredAt.IsZero() {
		t.Errorf("to retry: %+v", retried)
	}
	if err := s.RecordDelivery(ctx, due[0].ID, store.DeliveryResult{FailedAt: now}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("recording over a delivered delivery: %v", err)
	}
	if err := s.DeleteWebhook(ctx, team, off.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWebhookEnabled(ctx, team, off.ID, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("enabling a deleted webhook: %v", err)
	}
}

func rules(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, _ := conn.Query(context.Background(), `SELECT id::text FROM alert_rules WHERE scope = 'hospital' ORDER BY id`)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
