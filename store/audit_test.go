package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
)

func TestAuditKeepsOddInputAndVerifies(t *testing.T) {
	ctx := context.Background()
	s, conn := openFresh(t)
	patient := "22D7511E-7E4C-4DB5-ADD4-23527B645392"
	entries := []rpm.AuditEntry{
		{ActorKind: "anonymous", Action: "patient.view", UserAgent: "x\xfe\x00y", Allowed: false, RemoteAddr: "192.0.2.1"},
		{ActorKind: "anonymous", Action: "patient.view", PatientID: "not-an-id-but-36-characters-long-xx", ObjectID: "not-an-id"},
		{ActorKind: "user", Action: "patient.view", PatientID: patient, UserAgent: strings.Repeat("é", 200), RemoteAddr: "2001:db8::1", Allowed: true},
	}
	if err := s.RecordAudit(ctx, entries...); err != nil {
		t.Fatalf("RecordAudit refused odd but harmless input: %v", err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE patient_id = lower($1)::uuid`, patient).Scan(&n); err != nil || n != 1 {
		t.Errorf("entries for the patient: %d (%v)", n, err)
	}
	got, err := s.AuditEntries(ctx, store.AuditFilter{PatientID: patient, Before: 99999999999})
	if err != nil || len(got) != 1 {
		t.Errorf("filter by an upper-case id and a large page cursor: %d entries, %v", len(got), err)
	}
	if got, err := s.AuditEntries(ctx, store.AuditFilter{PatientID: "nonsense"}); err != nil || len(got) != 0 {
		t.Errorf("filter by a non-id: %d entries, %v", len(got), err)
	}
	if v, err := s.VerifyAudit(ctx); err != nil || v.BrokenAt != 0 || v.Checked != 3 {
		t.Errorf("verify = %+v, %v", v, err)
	}
}

// TestAuditChainUnderConcurrencyAndStrictIsolation: many writers at once, even on a database whose
// default isolation is REPEATABLE READ, extend one intact chain.
func TestAuditChainUnderConcurrencyAndStrictIsolation(t *testing.T) {
	ctx := context.Background()
	_, conn := openFresh(t)
	if _, err := conn.Exec(ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_isolation = %L',
		current_database(), 'repeatable read'); END $$`); err != nil {
		t.Fatal(err)
	}
	strict, err := store.Open(ctx, conn.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				errs <- strict.RecordAudit(ctx, rpm.AuditEntry{ActorKind: "system", Action: fmt.Sprintf("test.%d.%d", w, i), Allowed: true})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if v, err := strict.VerifyAudit(ctx); err != nil || v.BrokenAt != 0 || v.Checked != 160 {
		t.Errorf("verify = %+v, %v", v, err)
	}
}

func TestEndedSessionsStayEnded(t *testing.T) {
	ctx := context.Background()
	s, _ := openFresh(t)
	ss := s.Sessions()
	expiry := mustTime(t, "2099-01-01T00:00:00Z")
	if err := ss.CommitCtx(ctx, "tok", []byte("signed in"), expiry); err != nil {
		t.Fatal(err)
	}
	if err := ss.DeleteCtx(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	// A request that was under way at sign-out saves the session as it ends.
	if err := ss.CommitCtx(ctx, "tok", []byte("signed in"), expiry); err != nil {
		t.Fatal(err)
	}
	if _, found, err := ss.FindCtx(ctx, "tok"); err != nil || found {
		t.Errorf("an ended session came back: found=%v err=%v", found, err)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
