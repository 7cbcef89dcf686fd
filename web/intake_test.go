package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/auth"
	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/handlers"
	"github.com/vigil-rpm/vigil/ingest"
	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/static"
	"github.com/vigil-rpm/vigil/store"
	"github.com/vigil-rpm/vigil/store/storetest"
)

// recorder is a hand-off consumer that keeps what it is given.
type recorder struct {
	mu       sync.Mutex
	readings []rpm.Reading
}

func (r *recorder) ReadingsStored(_ context.Context, rs []rpm.Reading) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.readings = append(r.readings, rs...)
}

// intakeFixture is the real server with intake running, a device assigned to a demo patient, and
// a second device in the pool.
type intakeFixture struct {
	srv        *httptest.Server
	store      *store.Store
	token      string // assigned device
	deviceID   string
	patientID  string
	poolToken  string // unassigned device
	poolDevice string
	consumer   *recorder
	dbURL      string
}

func newIntakeFixture(t *testing.T, opts ingest.Options) *intakeFixture {
	t.Helper()
	return newIntakeFixtureAt(t, storetest.URL(t), opts)
}

// newIntakeFixtureAt builds the fixture on the (migrated) database at url.
func newIntakeFixtureAt(t *testing.T, url string, opts ingest.Options) *intakeFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.SeedDemo(ctx, demo.New(), "http://issuer.test", time.Now()); err != nil {
		t.Fatal(err)
	}
	f := &intakeFixture{store: st, dbURL: url, consumer: &recorder{}}
	f.deviceID, f.token = provisionDevice(t, st, "SIM-1")
	f.poolDevice, f.poolToken = provisionDevice(t, st, "SIM-2")
	if err := st.AssignDevice(ctx, f.deviceID, demoPatientID(t, st), "", time.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	f.patientID = demoPatientID(t, st)
	opts.Consumers = append(opts.Consumers, f.consumer)
	opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	intake := ingest.New(st, opts)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { intake.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	assets, _ := static.New()
	sessions := auth.NewSessions(st, auth.SessionConfig{}, opts.Log)
	h := handlers.New(st, handlers.Options{Sessions: sessions, Intake: intake, AssetURL: assets.URL, Modules: assets.ImportMap(), Log: opts.Log,
		RelyingParty: auth.NewRelyingParty(auth.RelyingPartyConfig{Issuer: "https://login.invalid"})})
	f.srv = httptest.NewServer(New(Config{Handlers: h, Sessions: sessions, Assets: assets, Log: opts.Log}).Handler())
	t.Cleanup(f.srv.Close)
	return f
}

func provisionDevice(t *testing.T, st *store.Store, serial string) (id, token string) {
	t.Helper()
	token, hash := auth.NewDeviceToken()
	id, err := st.ProvisionDevice(context.Background(), rpm.Device{Serial: serial, Vendor: "Test", Model: "T-1", Kind: rpm.KindBedsideMonitor}, hash)
	if err != nil {
		t.Fatal(err)
	}
	return id, token
}

// demoPatientID is the first demo patient (by name) a demo clinician sees.
func demoPatientID(t *testing.T, st *store.Store) string {
	t.Helper()
	users, err := st.Users(context.Background(), rpm.RoleClinician)
	if err != nil || len(users) == 0 {
		t.Fatal("no clinicians", err)
	}
	list, err := st.VisiblePatients(context.Background(), users[0].ID, time.Now())
	if err != nil || len(list) == 0 {
		t.Fatal("no patients", err)
	}
	return list[0].ID
}

type intakeAnswer struct {
	status int
	header http.Header
	result ingest.Result
	errors struct{ Error, Message string }
}

func (f *intakeFixture) post(t *testing.T, token string, body []byte) intakeAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v1/readings", bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := intakeAnswer{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &a.result); err != nil {
			t.Fatalf("200 with body %s: %v", raw, err)
		}
	} else if err := json.Unmarshal(raw, &a.errors); err != nil || a.errors.Error == "" || a.errors.Message == "" {
		t.Fatalf("%d with body %s: not the JSON error form", resp.StatusCode, raw)
	}
	return a
}

type wire map[string]any

func readingsBody(readings ...wire) []byte {
	b, _ := json.Marshal(map[string]any{"readings": readings, "status": wire{"battery": 0.8, "firmware": "2.4.1", "signal_dbm": -70}})
	return b
}

func at(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339Nano) }

var serial int

func rid() string { serial++; return fmt.Sprintf("r-%d-%d", time.Now().UnixNano(), serial) }

func TestIntakeStoresEveryAcceptedUnitInCanonicalForm(t *testing.T) {
	f := newIntakeFixture(t, ingest.Options{})
	tests := []struct {
		code, unit string
		value      float64
		wantCode   string
		want       float64
	}{
		{"8867-4", "/min", 72, "8867-4", 72}, {"8867-4", "{beats}/min", 73, "8867-4", 73},
		{"9279-1", "/min", 16, "9279-1", 16}, {"9279-1", "{breaths}/min", 17, "9279-1", 17},
		{"59408-5", "%", 97, "59408-5", 97}, {"2708-6", "%", 96, "59408-5", 96},
		{"8310-5", "Cel", 37.1, "8310-5", 37.1}, {"8310-5", "[degF]", 98.6, "8310-5", 37},
		{"8480-6", "mm[Hg]", 120, "8480-6", 120}, {"8462-4", "mm[Hg]", 80, "8462-4", 80},
		{"29463-7", "kg", 70, "29463-7", 70}, {"29463-7", "g", 70500, "29463-7", 70.5}, {"29463-7", "[lb_av]", 150, "29463-7", 150 * 0.45359237},
		{"2339-0", "mg/dL", 110, "2339-0", 110}, {"2339-0", "mmol/L", 6, "2339-0", 6 * 18.016},
		{"41950-7", "/d", 5000, "41950-7", 5000},
	}
	var body []wire
	ids := map[string]int{}
	for i, tt := range tests {
		id := rid()
		ids[id] = i
		body = append(body, wire{"id": id, "code": tt.code, "value": tt.value, "unit": tt.unit, "at": at(-time.Minute)})
	}
	a := f.post(t, f.token, readingsBody(body...))
	if a.status != http.StatusOK || a.result.Accepted != len(tests) || len(a.result.Rejected) != 0 {
		t.Fatalf("answer %d %+v", a.status, a.result)
	}
	stored, err := f.store.Readings(context.Background(), f.patientID, "", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), 100)
	if err != nil || len(stored) != len(tests) {
		t.Fatalf("%d readings stored (%v)", len(stored), err)
	}
	for _, r := range stored {
		tt := tests[ids[r.DeviceReadingID]]
		unit, _ := rpm.CanonicalUnit(tt.wantCode)
		if r.Code != tt.wantCode || r.Unit != unit || abs(r.Value-tt.want) > 1e-9 || r.DeviceID != f.deviceID {
			t.Errorf("%s %g %s stored as %s %g %s", tt.code, tt.value, tt.unit, r.Code, r.Value, r.Unit)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestIntakeRejectsEachBadReadingAndKeepsTheGood(t *testing.T) {
	f := newIntakeFixture(t, ingest.Options{})
	good := func() wire {
		return wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min", "at": at(-time.Minute)}
	}
	bad := []struct {
		reading wire
		reason  string
	}{
		{wire{"code": "8867-4", "value": 70, "unit": "/min", "at": at(0)}, rpm.ReasonMissingField},
		{wire{"id": rid(), "value": 70, "unit": "/min", "at": at(0)}, rpm.ReasonMissingField},
		{wire{"id": rid(), "code": "8867-4", "unit": "/min", "at": at(0)}, rpm.ReasonMissingField},
		{wire{"id": rid(), "code": "8867-4", "value": 70, "at": at(0)}, rpm.ReasonMissingField},
		{wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min"}, rpm.ReasonMissingField},
		{wire{"id": rid(), "code": "8867-4", "value": "70", "unit": "/min", "at": at(0)}, rpm.ReasonMalformed},
		{wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min", "at": at(0), "extra": 1}, rpm.ReasonMalformed},
		{wire{"id": "", "code": "8867-4", "value": 70, "unit": "/min", "at": at(0)}, rpm.ReasonBadID},
		{wire{"id": strings.Repeat("x", 65), "code": "8867-4", "value": 70, "unit": "/min", "at": at(0)}, rpm.ReasonBadID},
		{wire{"id": rid(), "code": "1234-5", "value": 70, "unit": "/min", "at": at(0)}, rpm.ReasonUnknownCode},
		{wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "bpm", "at": at(0)}, rpm.ReasonBadUnit},
		{wire{"id": rid(), "code": "8867-4", "value": 720, "unit": "/min", "at": at(0)}, rpm.ReasonImplausibleValue},
		{wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min", "at": "yesterday"}, rpm.ReasonBadTime},
		{wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min", "at": at(10 * time.Minute)}, rpm.ReasonFutureTime},
		{wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min", "at": at(-31 * 24 * time.Hour)}, rpm.ReasonTooOld},
	}
	readings := []wire{good()}
	for _, b := range bad {
		readings = append(readings, b.reading, good())
	}
	a := f.post(t, f.token, readingsBody(readings...))
	if a.status != http.StatusOK || a.result.Accepted != len(bad)+1 || len(a.result.Rejected) != len(bad) {
		t.Fatalf("answer %d: accepted %d, rejected %d of %d bad", a.status, a.result.Accepted, len(a.result.Rejected), len(bad))
	}
	for i, rej := range a.result.Rejected {
		if rej.Index != 2*i+1 || rej.Reason != bad[i].reason || rej.Message == "" {
			t.Errorf("rejection %d = %+v, want index %d reason %s", i, rej, 2*i+1, bad[i].reason)
		}
	}
	// Clock skew within the allowance is fine.
	if a := f.post(t, f.token, readingsBody(wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min", "at": at(time.Minute)})); a.result.Accepted != 1 {
		t.Errorf("a reading one minute ahead was refused: %+v", a.result)
	}
	var kept int
	if err := queryRow(t, f, `SELECT count(*) FROM rejected_readings WHERE device_id = $1`, f.deviceID).Scan(&kept); err != nil || kept != len(bad) {
		t.Errorf("%d rejected readings kept for review, want %d (%v)", kept, len(bad), err)
	}
}

func TestIntakeDuplicatesAndUnassignedDevices(t *testing.T) {
	f := newIntakeFixture(t, ingest.Options{})
	body := readingsBody(
		wire{"id": "dup-1", "code": "8867-4", "value": 70, "unit": "/min", "at": at(-time.Minute)},
		wire{"id": "dup-2", "code": "59408-5", "value": 97, "unit": "%", "at": at(-time.Minute)},
		wire{"id": "dup-1", "code": "8867-4", "value": 70, "unit": "/min", "at": at(-time.Minute)},
	)
	if a := f.post(t, f.token, body); a.result.Accepted != 2 || a.result.Duplicates != 1 {
		t.Errorf("first post: %+v", a.result)
	}
	if a := f.post(t, f.token, body); a.result.Accepted != 0 || a.result.Duplicates != 3 {
		t.Errorf("resend: %+v", a.result)
	}
	a := f.post(t, f.poolToken, readingsBody(wire{"id": "p-1", "code": "8867-4", "value": 70, "unit": "/min", "at": at(0)}))
	if a.status != http.StatusOK || len(a.result.Rejected) != 1 || a.result.Rejected[0].Reason != rpm.ReasonDeviceUnassigned {
		t.Errorf("unassigned device: %d %+v", a.status, a.result)
	}
	f.consumer.mu.Lock()
	defer f.consumer.mu.Unlock()
	if len(f.consumer.readings) != 2 || f.consumer.readings[0].PatientID != f.patientID {
		t.Errorf("hand-off got %+v", f.consumer.readings)
	}
}

// TestReadingsFollowTheAssignmentAtTheirOwnTime: a reading taken before a device moved to another
// patient belongs to the first patient, even when it arrives afterwards.
func TestReadingsFollowTheAssignmentAtTheirOwnTime(t *testing.T) {
	f := newIntakeFixture(t, ingest.Options{})
	ctx := context.Background()
	moved := time.Now().Add(-time.Hour)
	if err := f.store.EndAssignment(ctx, f.deviceID, f.patientID, "", moved); err != nil {
		t.Fatal(err)
	}
	var other string
	if err := queryRow(t, f, `SELECT id FROM patients WHERE id <> $1 LIMIT 1`, f.patientID).Scan(&other); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AssignDevice(ctx, f.deviceID, other, "", moved); err != nil {
		t.Fatal(err)
	}
	a := f.post(t, f.token, readingsBody(
		wire{"id": "before", "code": "8867-4", "value": 70, "unit": "/min", "at": at(-2 * time.Hour)},
		wire{"id": "after", "code": "8867-4", "value": 71, "unit": "/min", "at": at(-time.Minute)}))
	if a.result.Accepted != 2 {
		t.Fatalf("%+v", a.result)
	}
	for id, want := range map[string]string{"before": f.patientID, "after": other} {
		var got string
		if err := queryRow(t, f, `SELECT patient_id FROM readings WHERE device_reading_id = $1`, id).Scan(&got); err != nil || got != want {
			t.Errorf("reading %s went to %s, want %s (%v)", id, got, want, err)
		}
	}
}

func TestIntakeWholeRequestFailures(t *testing.T) {
	f := newIntakeFixture(t, ingest.Options{RatePerSecond: 0.001, Burst: 5})
	ok := readingsBody(wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min", "at": at(0)})
	for name, tc := range map[string]struct {
		token  string
		body   []byte
		status int
	}{
		"no token":           {"", ok, http.StatusUnauthorized},
		"unknown token":      {"vgd_not-a-token", ok, http.StatusUnauthorized},
		"not JSON":           {f.poolToken, []byte(`{"readings": [`), http.StatusBadRequest},
		"unknown field":      {f.poolToken, []byte(`{"readings": [], "patient": "x"}`), http.StatusBadRequest},
		"readings not array": {f.poolToken, []byte(`{"readings": {}}`), http.StatusBadRequest},
		"trailing data":      {f.poolToken, []byte(`{"readings": []} {}`), http.StatusBadRequest},
		"too large":          {f.token, bytes.Repeat([]byte(" "), ingest.MaxBodyBytes+1), http.StatusRequestEntityTooLarge},
	} {
		if a := f.post(t, tc.token, tc.body); a.status != tc.status {
			t.Errorf("%s: %d, want %d (%s)", name, a.status, tc.status, a.errors.Message)
		}
	}
	// A device that uses up its burst (5 requests) must wait.
	for range 5 {
		f.post(t, f.token, ok)
	}
	a := f.post(t, f.token, ok)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Errorf("rate limit: %d, Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	// Revoked and lost devices are refused at once.
	if err := f.store.RevokeDeviceToken(context.Background(), f.poolDevice); err != nil {
		t.Fatal(err)
	}
	if a := f.post(t, f.poolToken, ok); a.status != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", a.status)
	}
}

func TestIntakeAnswers503WhenTheDatabaseIsGone(t *testing.T) {
	f := newIntakeFixture(t, ingest.Options{})
	f.store.Close()
	a := f.post(t, f.token, readingsBody(wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min", "at": at(0)}))
	if a.status != http.StatusServiceUnavailable {
		t.Errorf("with the database closed: %d", a.status)
	}
}

// TestConcurrentOverlappingPostsStoreEachReadingOnce: many devices' worth of goroutines post
// overlapping batches and resend them; what is stored is exactly the distinct readings.
func TestConcurrentOverlappingPostsStoreEachReadingOnce(t *testing.T) {
	f := newIntakeFixture(t, ingest.Options{RatePerSecond: 10000, Burst: 10000})
	const workers, batches, perBatch, distinct = 16, 20, 10, 400
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				var rs []wire
				for i := range perBatch {
					n := (w*7 + b*13 + i*31) % distinct // overlapping ids across workers and batches
					rs = append(rs, wire{"id": fmt.Sprintf("c-%d", n), "code": "8867-4", "value": 60 + n%40, "unit": "/min", "at": at(-time.Duration(n) * time.Second)})
				}
				a := f.post(t, f.token, readingsBody(rs...))
				if a.status != http.StatusOK {
					t.Errorf("post: %d", a.status)
					return
				}
				mu.Lock()
				accepted += a.result.Accepted
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var stored, unique int
	if err := queryRow(t, f, `SELECT count(*), count(DISTINCT device_reading_id) FROM readings WHERE device_id = $1`, f.deviceID).Scan(&stored, &unique); err != nil {
		t.Fatal(err)
	}
	var sent = map[int]bool{}
	for w := range workers {
		for b := range batches {
			for i := range perBatch {
				sent[(w*7+b*13+i*31)%distinct] = true
			}
		}
	}
	if stored != len(sent) || unique != stored || accepted != stored {
		t.Errorf("stored %d (%d unique), accepted %d; %d distinct readings were sent", stored, unique, accepted, len(sent))
	}
}

// TestPoisonReadingsCostOnlyThemselves: readings that PostgreSQL would refuse to keep as JSON (a
// NUL, invalid UTF-8, an exponent out of range) are rejected and kept for review like any other,
// and neither their own request's good readings nor other requests in the same commit suffer.
func TestPoisonReadingsCostOnlyThemselves(t *testing.T) {
	f := newIntakeFixture(t, ingest.Options{RatePerSecond: 10000, Burst: 10000})
	poison := []byte(`{"readings": [
		{"id": "ok-1", "code": "8867-4", "value": 70, "unit": "/min", "at": "` + at(-time.Second) + `"},
		{"id": "nul\u0000", "code": "8867-4", "value": 70, "unit": "/min", "at": "` + at(-time.Second) + `"},
		{"id": "exp", "code": "8867-4", "value": 1e999999, "unit": "/min", "at": "` + at(-time.Second) + `"},
		{"id": "utf", "code": "8867-4", "value": 70, "unit": "` + "\xff" + `", "at": "` + at(-time.Second) + `"}]}`)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if i%2 == 0 {
				if a := f.post(t, f.token, poison); a.status != http.StatusOK || len(a.result.Rejected) != 3 {
					t.Errorf("poisoned request: %d %+v", a.status, a.result)
				}
				return
			}
			body := readingsBody(wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min", "at": at(-time.Second)})
			if a := f.post(t, f.poolToken, body); a.status != http.StatusOK {
				t.Errorf("a neighbour's request: %d", a.status)
			}
		})
	}
	wg.Wait()
	var kept int
	if err := queryRow(t, f, `SELECT count(*) FROM rejected_readings WHERE device_id = $1`, f.deviceID).Scan(&kept); err != nil || kept != 30 {
		t.Errorf("%d poisoned readings kept for review, want 30 (%v)", kept, err)
	}
}

func TestIntakeBounds(t *testing.T) {
	f := newIntakeFixture(t, ingest.Options{RatePerSecond: 10000, Burst: 10000})
	many := make([]wire, ingest.MaxReadingsPerRequest+1)
	for i := range many {
		many[i] = wire{"id": fmt.Sprint(i)}
	}
	if a := f.post(t, f.token, readingsBody(many...)); a.status != http.StatusBadRequest {
		t.Errorf("%d readings in one request: %d", len(many), a.status)
	}
	// Exactly 1 MiB is within the limit (and then judged as JSON).
	if a := f.post(t, f.token, bytes.Repeat([]byte(" "), ingest.MaxBodyBytes)); a.status != http.StatusBadRequest {
		t.Errorf("a body of exactly 1 MiB: %d, want 400 for its content, not 413", a.status)
	}
	// Many bad readings: all answered, a bounded number kept.
	bad := make([]wire, 1000)
	for i := range bad {
		bad[i] = wire{"id": fmt.Sprint(i), "code": "0000-0", "value": 1, "unit": "/min", "at": at(0)}
	}
	if a := f.post(t, f.token, readingsBody(bad...)); a.status != http.StatusOK || len(a.result.Rejected) != 1000 {
		t.Errorf("1000 bad readings: %d, %d rejections answered", a.status, len(a.result.Rejected))
	}
	var kept int
	if err := queryRow(t, f, `SELECT count(*) FROM rejected_readings`).Scan(&kept); err != nil || kept != 100 {
		t.Errorf("%d rejected readings kept from one request, want 100", kept)
	}
	// The same unassigned reading twice in one request: both are refused as unassigned.
	twice := readingsBody(wire{"id": "same", "code": "8867-4", "value": 70, "unit": "/min", "at": at(0)},
		wire{"id": "same", "code": "8867-4", "value": 70, "unit": "/min", "at": at(0)})
	if a := f.post(t, f.poolToken, twice); len(a.result.Rejected) != 2 || a.result.Duplicates != 0 {
		t.Errorf("an unassigned reading sent twice in one request: %+v", a.result)
	}
}

// TestKnownDevicesAreCheckedAgainInEveryBatch: intake remembers a device's token after its first
// post, but each batch checks the credentials again, so a token rotated away or a device marked
// lost is refused from its next post on.
func TestKnownDevicesAreCheckedAgainInEveryBatch(t *testing.T) {
	f := newIntakeFixture(t, ingest.Options{})
	ctx := context.Background()
	post := func(token string) int {
		return f.post(t, token, readingsBody(wire{"id": rid(), "code": "8867-4", "value": 70, "unit": "/min", "at": at(0)})).status
	}
	if s := post(f.token); s != http.StatusOK {
		t.Fatalf("first post: %d", s)
	}
	fresh, hash := auth.NewDeviceToken()
	if err := f.store.RotateDeviceToken(ctx, f.deviceID, hash); err != nil {
		t.Fatal(err)
	}
	if s := post(f.token); s != http.StatusUnauthorized {
		t.Errorf("the rotated-away token: %d", s)
	}
	if s := post(fresh); s != http.StatusOK {
		t.Errorf("the new token: %d", s)
	}
	// A post with only the device's status writes no readings, so no batch checks it: it is
	// checked on its own, and a token rotated away cannot keep the device looking online.
	statusOnly := []byte(`{"readings": [], "status": {"battery": 0.5}}`)
	newer, newerHash := auth.NewDeviceToken()
	if err := f.store.RotateDeviceToken(ctx, f.deviceID, newerHash); err != nil {
		t.Fatal(err)
	}
	if got := f.post(t, fresh, statusOnly); got.status != http.StatusUnauthorized {
		t.Errorf("a status-only post with the rotated-away token: %d", got.status)
	}
	if got := f.post(t, newer, statusOnly); got.status != http.StatusOK {
		t.Errorf("a status-only post with the current token: %d", got.status)
	}
	fresh = newer
	if err := f.store.SetDeviceStatus(ctx, f.deviceID, rpm.DeviceLost, ""); err != nil {
		t.Fatal(err)
	}
	if s := post(fresh); s != http.StatusUnauthorized {
		t.Errorf("a device marked lost: %d", s)
	}
}
