package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/rpm"
)

// RecordAudit appends entries to the audit trail, all or none. The database stamps the time and
// extends the hash chain; entries can be neither changed nor deleted afterwards. Text fields are
// made storable (valid UTF-8, no NUL, bounded) rather than refused: an audit entry is never lost to
// a client's odd User-Agent. Ids that are not ids are kept out of the id columns.
func (s *Store) RecordAudit(ctx context.Context, entries ...rpm.AuditEntry) error {
	// READ COMMITTED: the chain trigger must see the newest link once it holds the chain's lock.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, e := range entries {
			queueAudit(batch, e)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("store: record audit: %w", err)
	}
	return nil
}

// queueAudit adds one audit entry's insert to a batch.
func queueAudit(batch *pgx.Batch, e rpm.AuditEntry) {
	var addr *netip.Addr
	if a, err := netip.ParseAddr(e.RemoteAddr); err == nil {
		addr = &a
	}
	batch.Queue(`
		INSERT INTO audit_log (actor_kind, actor_id, actor_role, action, patient_id, object_type, object_id,
		                       allowed, request_id, remote_addr, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		e.ActorKind, nullID(e.ActorID), clean(e.ActorRole, 64), clean(e.Action, 64), nullID(e.PatientID),
		clean(e.ObjectType, 64), clean(e.ObjectID, 128), e.Allowed, clean(e.RequestID, 64), addr,
		clean(e.UserAgent, 256))
}

// AuditFilter narrows an audit listing; zero fields do not filter. Before pages backwards by id.
type AuditFilter struct {
	ActorID   string
	PatientID string
	Action    string
	From, To  time.Time
	Before    int64
	Limit     int
}

// AuditEntries lists audit entries matching f, newest first. An actor or patient filter that is not
// an id matches nothing.
func (s *Store) AuditEntries(ctx context.Context, f AuditFilter) ([]rpm.AuditEntry, error) {
	if f.ActorID != "" && !rpm.IsID(f.ActorID) || f.PatientID != "" && !rpm.IsID(f.PatientID) {
		return nil, nil
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	rows, err := s.pool.Query(ctx, `
		SELECT a.id, a.at, a.actor_kind, coalesce(a.actor_id::text, ''), coalesce(u.display_name, ''), a.actor_role,
		       a.action, coalesce(a.patient_id::text, ''), a.object_type, a.object_id, a.allowed, a.request_id,
		       coalesce(host(a.remote_addr), ''), a.user_agent
		FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
		WHERE ($1::uuid IS NULL OR a.actor_id = $1) AND ($2::uuid IS NULL OR a.patient_id = $2)
		  AND ($3 = '' OR a.action = $3)
		  AND ($4::timestamptz IS NULL OR a.at >= $4) AND ($5::timestamptz IS NULL OR a.at < $5)
		  AND ($6::bigint = 0 OR a.id < $6)
		ORDER BY a.id DESC LIMIT $7`,
		nullID(f.ActorID), nullID(f.PatientID), f.Action, nullTime(f.From), nullTime(f.To), f.Before, f.Limit)
	return collect("audit entries", rows, err, func(row pgx.CollectableRow) (rpm.AuditEntry, error) {
		var e rpm.AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.ActorKind, &e.ActorID, &e.ActorName, &e.ActorRole, &e.Action, &e.PatientID,
			&e.ObjectType, &e.ObjectID, &e.Allowed, &e.RequestID, &e.RemoteAddr, &e.UserAgent)
		return e, err
	})
}

// AuditVerification is the outcome of checking the audit trail's hash chain.
type AuditVerification struct {
	Checked int
	// BrokenAt is the chain position of the first row whose hash does not match its contents or
	// its predecessor; 0 when the chain is intact.
	BrokenAt int64
	BrokenID int64
}

// VerifyAudit recomputes the audit trail's hash chain in Go, independently of the database's own
// trigger, and reports the first row that does not match (see migration 005 for the hashed form).
func (s *Store) VerifyAudit(ctx context.Context) (AuditVerification, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, chain_seq, prev_hash, hash, at, actor_kind, coalesce(actor_id::text, ''), actor_role, action,
		       coalesce(patient_id::text, ''), object_type, object_id, allowed, request_id,
		       coalesce(host(remote_addr), ''), user_agent
		FROM audit_log WHERE chain_seq IS NOT NULL ORDER BY chain_seq`)
	if err != nil {
		return AuditVerification{}, fmt.Errorf("store: verify audit: %w", err)
	}
	defer rows.Close()
	var v AuditVerification
	prev := make([]byte, sha256.Size)
	var e rpm.AuditEntry
	var seq int64
	var prevHash, hash []byte
	for rows.Next() {
		if err := rows.Scan(&e.ID, &seq, &prevHash, &hash, &e.At, &e.ActorKind, &e.ActorID, &e.ActorRole, &e.Action,
			&e.PatientID, &e.ObjectType, &e.ObjectID, &e.Allowed, &e.RequestID, &e.RemoteAddr, &e.UserAgent); err != nil {
			return v, fmt.Errorf("store: verify audit: %w", err)
		}
		v.Checked++
		want := auditHash(prev, seq, e)
		if seq != int64(v.Checked) || !bytes.Equal(prevHash, prev) || !bytes.Equal(hash, want) {
			v.BrokenAt, v.BrokenID = int64(v.Checked), e.ID
			return v, nil
		}
		prev = hash
	}
	if err := rows.Err(); err != nil {
		return v, fmt.Errorf("store: verify audit: %w", err)
	}
	return v, nil
}

// auditHash is the chain hash of one row, exactly as migration 005's trigger computes it.
func auditHash(prev []byte, seq int64, e rpm.AuditEntry) []byte {
	allowed := "f"
	if e.Allowed {
		allowed = "t"
	}
	var b bytes.Buffer
	b.Write(prev)
	for _, f := range []string{strconv.FormatInt(seq, 10), strconv.FormatInt(e.At.UnixMicro(), 10), e.ActorKind,
		e.ActorID, e.ActorRole, e.Action, e.PatientID, e.ObjectType, e.ObjectID, allowed, e.RequestID,
		e.RemoteAddr, e.UserAgent} {
		b.WriteString(strconv.Itoa(len(f)) + ":" + f)
	}
	sum := sha256.Sum256(b.Bytes())
	return sum[:]
}

// nullID is an id for an id column: lower-cased, or NULL when it is not an id.
func nullID(id string) *string {
	if !rpm.IsID(id) {
		return nil
	}
	id = strings.ToLower(id)
	return &id
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// clean makes text storable: valid UTF-8 without NUL, at most n bytes, cut between characters.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
