package watch

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// received is one request a test endpoint got.
type received struct {
	header http.Header
	body   []byte
}

// endpoint is a team's webhook endpoint answering with the given statuses in turn (the last one
// from then on) and keeping what it receives.
type endpoint struct {
	*httptest.Server
	mu  sync.Mutex
	got []received
}

func newEndpoint(t *testing.T, statuses ...int) *endpoint {
	ep := &endpoint{}
	ep.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ep.mu.Lock()
		ep.got = append(ep.got, received{r.Header.Clone(), body})
		status := statuses[min(len(ep.got), len(statuses))-1]
		ep.mu.Unlock()
		if status/100 == 3 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(ep.Close)
	return ep
}

func (ep *endpoint) requests() []received {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]received(nil), ep.got...)
}

// hookFixture is a demo hospital with one webhook on a patient's team, an engine on a test clock,
// and a way to fire alerts for the patient.
type hookFixture struct {
	st      *store.Store
	engine  *Engine
	clock   *clock
	patient string
	team    string
	rules   []string
	hook    store.Webhook
	secret  string
}

func newHookFixture(t *testing.T, url string, opts Options) *hookFixture {
	t.Helper()
	ctx := context.Background()
	dbURL := storetest.URL(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	f := &hookFixture{st: st, clock: &clock{now: time.Now().UTC().Truncate(time.Second)}}
	if err := st.SeedDemo(ctx, demo.New(), "http://issuer.test", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	err = conn.QueryRow(ctx, `SELECT p.id::text, pct.team_id::text FROM patients p
		JOIN patient_care_teams pct ON pct.patient_id = p.id WHERE p.mrn = 'H1000002'`).Scan(&f.patient, &f.team)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := conn.Query(ctx, `SELECT id::text FROM alert_rules WHERE scope = 'hospital' ORDER BY id`)
	if f.rules, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if f.hook, f.secret, err = st.CreateWebhook(ctx, f.team, url, ""); err != nil {
		t.Fatal(err)
	}
	opts.Now = f.clock.Now
	opts.Log = slog.New(slog.DiscardHandler)
	f.engine = New(st, opts)
	return f
}

// fire opens an alert on the patient for the nth hospital rule, with a "fired" event.
func (f *hookFixture) fire(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	now := f.clock.Now()
	err := f.st.InAlertTx(ctx, []string{f.patient}, func(tx *store.AlertTx) error {
		_, err := tx.SaveAlert(ctx, store.AlertWrite{Alert: rpm.Alert{PatientID: f.patient, RuleID: f.rules[n], Severity: rpm.SeverityHigh,
			State: rpm.AlertFiring, Tier: 1, Summary: "SpO₂ 88 % for 2 minutes", OpenedAt: now, LastTriggeredAt: now, EscalatedAt: now},
			Events: []rpm.AlertEvent{{Kind: rpm.EventFired, At: now}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// deliveries are the webhook's deliveries, newest first.
func (f *hookFixture) deliveries(t *testing.T) []store.WebhookDelivery {
	t.Helper()
	recent, err := f.st.RecentDeliveries(context.Background(), []string{f.hook.ID}, 50)
	if err != nil {
		t.Fatal(err)
	}
	return recent[f.hook.ID]
}

func (f *hookFixture) send(t *testing.T) int {
	t.Helper()
	return f.engine.sendDue(context.Background(), webhookClient(f.engine.opts.HTTPClient))
}

// TestWebhookSignedRetriedDelivered: the endpoint can verify the signature with the secret; a 500
// is retried after the backoff and the second attempt's 200 is recorded as delivered.
func TestWebhookSignedRetriedDelivered(t *testing.T) {
	ep := newEndpoint(t, http.StatusInternalServerError, http.StatusOK)
	f := newHookFixture(t, ep.URL+"/vigil", Options{})
	f.fire(t, 0)
	if n := f.send(t); n != 1 {
		t.Fatalf("sent %d deliveries, want 1", n)
	}
	d := f.deliveries(t)[0]
	wait := d.NextAttemptAt.Sub(f.clock.Now())
	if d.Attempts != 1 || d.LastStatus != 500 || d.LastError != "HTTP 500 Internal Server Error" || !d.DeliveredAt.IsZero() ||
		wait < webhookFirstRetry || wait > webhookFirstRetry*11/10 {
		t.Fatalf("after a 500: %+v (retry in %s)", d, wait)
	}
	if n := f.send(t); n != 0 {
		t.Errorf("retried %d deliveries before the backoff ran out", n)
	}
	f.clock.Add(wait)
	f.send(t)
	d = f.deliveries(t)[0]
	if d.Attempts != 2 || d.LastStatus != 200 || !d.DeliveredAt.Equal(f.clock.Now()) || d.LastError != "" {
		t.Errorf("after a 200: %+v", d)
	}

	got := ep.requests()
	if len(got) != 2 {
		t.Fatalf("the endpoint got %d requests, want 2", len(got))
	}
	for _, r := range got {
		ts := r.header.Get("X-Vigil-Timestamp")
		mac := hmac.New(sha256.New, []byte(f.secret))
		mac.Write([]byte(ts + "." + string(r.body)))
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if r.header.Get("X-Vigil-Signature") != want || r.header.Get("Content-Type") != "application/json" ||
			r.header.Get("X-Vigil-Delivery") != strconv.FormatInt(d.ID, 10) {
			t.Errorf("headers %v; want signature %s", r.header, want)
		}
		if sec, _ := strconv.ParseInt(ts, 10, 64); time.Since(time.Unix(sec, 0)) > time.Minute {
			t.Errorf("timestamp %q", ts)
		}
	}
	if got[1].header.Get("X-Vigil-Timestamp") == got[0].header.Get("X-Vigil-Timestamp") {
		t.Error("the retry was signed with the first attempt's timestamp")
	}
	var payload struct {
		Event string
		Team  string
		Alert struct{ ID, Patient, Severity, State, Summary string }
	}
	if err := json.Unmarshal(got[1].body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Event != "fired" || payload.Team != f.team || payload.Alert.Patient != f.patient || payload.Alert.Severity != "high" {
		t.Errorf("payload %s", got[1].body)
	}
	if body := string(got[1].body); strings.Contains(body, "Nakamura") || strings.Contains(body, "H1000002") {
		t.Errorf("the payload names the patient: %s", body)
	}
}

// TestWebhookBackoffGrows: waits double from 10 s up to 30 minutes.
func TestWebhookBackoffGrows(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n < WebhookMaxAttempts; n++ {
		d := webhookBackoff(n)
		switch {
		case n == 1 && d != 10*time.Second:
			t.Errorf("first wait %s", d)
		case d > webhookMaxRetry:
			t.Errorf("wait %d is %s, over the cap", n, d)
		case d < prev || (d != webhookMaxRetry && d != 2*prev && n > 1):
			t.Errorf("wait %d is %s after %s", n, d, prev)
		}
		prev = d
	}
	if prev != webhookMaxRetry {
		t.Errorf("the waits end at %s, want the cap %s", prev, webhookMaxRetry)
	}
}

// TestWebhookGivenUp: an endpoint that keeps answering with a redirect (never followed) is tried
// WebhookMaxAttempts times, with growing waits, and the delivery is then marked failed.
func TestWebhookGivenUp(t *testing.T) {
	ep := newEndpoint(t, http.StatusTemporaryRedirect)
	f := newHookFixture(t, ep.URL+"/vigil", Options{})
	f.fire(t, 0)
	var waits []time.Duration
	for range WebhookMaxAttempts {
		if n := f.send(t); n != 1 {
			t.Fatalf("attempt %d: sent %d deliveries", len(waits)+1, n)
		}
		d := f.deliveries(t)[0]
		if d.FailedAt.IsZero() {
			waits = append(waits, d.NextAttemptAt.Sub(f.clock.Now()))
			f.clock.Add(waits[len(waits)-1])
		}
	}
	d := f.deliveries(t)[0]
	if d.Attempts != WebhookMaxAttempts || !d.FailedAt.Equal(f.clock.Now()) || d.LastStatus != 307 || len(waits) != WebhookMaxAttempts-1 {
		t.Fatalf("after %d attempts: %+v", WebhookMaxAttempts, d)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] < waits[i-1]*9/10 || waits[i] > webhookMaxRetry*11/10 {
			t.Errorf("waits %v", waits)
			break
		}
	}
	f.clock.Add(time.Hour)
	if n := f.send(t); n != 0 {
		t.Errorf("a failed delivery was sent again")
	}
	for _, r := range ep.requests() {
		if r.header.Get("X-Vigil-Delivery") == "" {
			t.Error("the redirect was followed")
		}
	}
	if got := len(ep.requests()); got != WebhookMaxAttempts {
		t.Errorf("the endpoint got %d requests, want %d", got, WebhookMaxAttempts)
	}
}

// TestRunWebhooksWakesOnAlert: RunWebhooks sends a new alert's event at once, long before its
// next poll, and stops when its context ends.
func TestRunWebhooksWakesOnAlert(t *testing.T) {
	ep := newEndpoint(t, http.StatusNoContent)
	f := newHookFixture(t, ep.URL, Options{WebhookPoll: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.engine.RunWebhooks(ctx); close(done) }()
	time.Sleep(200 * time.Millisecond) // let it start listening; a miss would only cost a poll
	f.fire(t, 0)
	deadline := time.Now().Add(10 * time.Second)
	for f.deliveries(t)[0].DeliveredAt.IsZero() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if d := f.deliveries(t)[0]; d.DeliveredAt.IsZero() || d.LastStatus != 204 {
		t.Errorf("delivery %+v", d)
	}
	if got := len(ep.requests()); got != 1 {
		t.Errorf("the endpoint got %d requests, want 1", got)
	}
}

// TestWebhookRefusesLinkLocal: the sender never dials a link-local address (a cloud metadata
// service), whatever a webhook's URL says.
func TestWebhookRefusesLinkLocal(t *testing.T) {
	c := webhookClient(nil)
	c.Timeout = 2 * time.Second
	_, err := c.Get("http://169.254.169.254/latest/meta-data/")
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("a link-local address: %v, want refused", err)
	}
}
