// Package storetest gives tests a real PostgreSQL database of their own.
//
// Each test binary starts one private cluster (package pgcluster) the first time a test asks for a
// database — or, when VIGIL_TEST_DATABASE_URL names a server where it may create databases, uses
// that. It migrates a template database once, and clones a fresh database from it for every test
// (a file copy: a few milliseconds), dropped when the test ends.
//
// A package that uses storetest runs its tests through Main, which stops the cluster at the end:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/pgcluster"
)

// EnvDatabaseURL names the variable that points the tests at an existing server instead of a
// private cluster. The URL's role must be allowed to create databases.
const EnvDatabaseURL = "VIGIL_TEST_DATABASE_URL"

var (
	once      sync.Once
	server    *testServer
	serverErr error
	counter   atomic.Int64
)

// testServer is the PostgreSQL server this test binary uses and its migrated template database.
type testServer struct {
	cluster  *pgcluster.Cluster // nil when EnvDatabaseURL is set
	adminURL string
	admin    *pgxpool.Pool
	template string
	prefix   string
	strategy string // "STRATEGY FILE_COPY" where the server supports it
	mu       sync.Mutex
}

// Main runs the tests of a package, then stops the cluster and drops the template.
func Main(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.close()
	}
	os.Exit(code)
}

// URL returns the URL of a fresh database, migrated to the latest schema, that is dropped when the
// test ends.
func URL(t testing.TB) string {
	t.Helper()
	return get(t).newDatabase(t, true)
}

// EmptyURL returns the URL of a fresh database with no schema at all, dropped when the test ends.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return get(t).newDatabase(t, false)
}

// New returns a Store on a fresh, migrated database; both are closed and dropped when the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func get(t testing.TB) *testServer {
	t.Helper()
	once.Do(func() { server, serverErr = start(context.Background()) })
	if serverErr != nil {
		t.Fatalf("storetest: %v", serverErr)
	}
	return server
}

func start(ctx context.Context) (*testServer, error) {
	s := &testServer{prefix: fmt.Sprintf("vigil_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)}
	s.adminURL = os.Getenv(EnvDatabaseURL)
	if s.adminURL == "" {
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if errors.Is(err, pgcluster.ErrNoBinaries) {
			return nil, fmt.Errorf("%w, or set %s to a PostgreSQL server where the tests may create databases", err, EnvDatabaseURL)
		}
		if err != nil {
			return nil, err
		}
		s.cluster = c
		s.adminURL = c.URL("postgres")
	}
	admin, err := pgxpool.New(ctx, s.adminURL)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("connect to the test server: %w", err)
	}
	s.admin = admin
	if err := s.prepareTemplate(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *testServer) prepareTemplate(ctx context.Context) error {
	var version int
	if err := s.admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return fmt.Errorf("connect to the test server: %w", err)
	}
	if version >= 150000 {
		s.strategy = "STRATEGY FILE_COPY"
	}
	s.template = s.prefix + "_template"
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+s.template); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	st, err := store.Open(ctx, s.databaseURL(s.template))
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Migrate(ctx)
}

func (s *testServer) newDatabase(t testing.TB, migrated bool) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("%s_%d", s.prefix, counter.Add(1))
	sql := "CREATE DATABASE " + name
	if migrated {
		sql += " TEMPLATE " + s.template + " " + s.strategy
	}
	s.mu.Lock() // cloning a template is refused while another clone of it is starting
	_, err := s.admin.Exec(ctx, sql)
	s.mu.Unlock()
	if err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("storetest: drop database: %v", err)
		}
	})
	return s.databaseURL(name)
}

// databaseURL is the admin URL pointed at another database on the same server.
func (s *testServer) databaseURL(name string) string {
	u, err := url.Parse(s.adminURL)
	if err != nil || u.Scheme == "" {
		panic(fmt.Sprintf("storetest: %s must be a postgres:// URL", EnvDatabaseURL))
	}
	u.Path = "/" + name
	return u.String()
}

func (s *testServer) close() {
	if s.admin != nil {
		_, _ = s.admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+s.template+" WITH (FORCE)")
		s.admin.Close()
	}
	if s.cluster != nil {
		_ = s.cluster.Stop()
	}
}
