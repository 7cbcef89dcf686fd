package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/vigil-rpm/vigil/store"
)

const migrateHelp = `Usage: vigil migrate

Applies the pending database migrations to VIGIL_DATABASE_URL, each in its own transaction, and
exits. Instances running it at the same time take turns under a database lock.
`

func migrateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseFlags(flag.NewFlagSet("migrate", flag.ContinueOnError), args, migrateHelp, stdout, stderr); err != nil {
		return err
	}
	st, err := openDatabase(ctx, getenv, "migrate: the PostgreSQL database to migrate")
	if err != nil {
		return err
	}
	defer st.Close()
	before, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	after, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if after == before {
		fmt.Fprintf(stdout, "schema already current at version %d\n", after)
	} else {
		fmt.Fprintf(stdout, "schema migrated from version %d to %d\n", before, after)
	}
	return nil
}

// openDatabase opens VIGIL_DATABASE_URL for a command that needs nothing else; purpose completes
// the message when it is missing ("migrate: the database to migrate").
func openDatabase(ctx context.Context, getenv func(string) string, purpose string) (*store.Store, error) {
	cfg, err := loadConfig(getenv, false)
	if err != nil {
		return nil, err
	}
	if cfg.DatabaseURL == "" {
		return nil, errors.New("VIGIL_DATABASE_URL is required for " + purpose)
	}
	return store.Open(ctx, cfg.DatabaseURL)
}
