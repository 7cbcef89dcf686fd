package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

const auditHelp = `Usage: vigil audit verify

Checks the audit trail in VIGIL_DATABASE_URL: recomputes every row's SHA-256 hash, chained to the
row before it, and reports the first row whose contents or position do not match — a sign that the
trail was changed behind Vigil's back. Exits 0 when the chain is intact, 1 otherwise.
`

// errAuditBroken is returned when the audit chain does not verify.
var errAuditBroken = errors.New("the audit trail has been tampered with")

func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	if len(args) == 0 || args[0] != "verify" {
		if err := parseFlags(fs, args, auditHelp, stdout, stderr); err != nil {
			return err
		}
		fmt.Fprint(stderr, auditHelp)
		return errUsage
	}
	if err := parseFlags(fs, args[1:], auditHelp, stdout, stderr); err != nil {
		return err
	}
	st, err := openDatabase(ctx, getenv, "audit verify: the database whose audit trail to check")
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if v.BrokenAt != 0 {
		fmt.Fprintf(stdout, "BROKEN: the audit trail does not verify at chain position %d (row id %d); %d rows checked\n", v.BrokenAt, v.BrokenID, v.Checked)
		return errAuditBroken
	}
	fmt.Fprintf(stdout, "ok: %d audit rows verified, chain intact\n", v.Checked)
	return nil
}
