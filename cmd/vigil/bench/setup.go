package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vigil-rpm/vigil/demo"
	"github.com/vigil-rpm/vigil/rpm"
)

// benchHospital is the demo hospital plus invented bench patients, one intake device each, in care
// teams of TeamSize patients, each team watched by its own clinicians' dashboards. The last
// patient of the first team has no intake device: its chart is backfilled.
type benchHospital struct {
	demo.Hospital
	teams      []benchTeam
	patients   int // bench patients with an intake device
	chartIndex int // the chart patient's index among bench patients
}

// benchTeam is one care team: its clinicians' usernames and the indexes of its patients.
type benchTeam struct {
	clinicians []string
	patients   []int
}

func newBenchHospital(sz size) benchHospital {
	h := benchHospital{Hospital: demo.New(), patients: sz.Devices}
	demoTeams := len(h.Teams)
	nTeams := (sz.Devices + sz.TeamSize - 1) / sz.TeamSize
	perTeam := max(1, (sz.Dashboards+nTeams-1)/nTeams)
	born := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	for t := range nTeams {
		team := benchTeam{}
		name := fmt.Sprintf("Bench team %03d", t+1)
		members := map[string]rpm.Tier{}
		for c := range perTeam {
			u := fmt.Sprintf("bench.c%03d.%d", t+1, c+1)
			h.Users = append(h.Users, demo.User{Username: u, DisplayName: fmt.Sprintf("Bench clinician %d/%d", t+1, c+1),
				Roles: []rpm.Role{rpm.RoleClinician}, Sees: "a bench care team"})
			members[u] = rpm.TierFirstResponder
			team.clinicians = append(team.clinicians, u)
		}
		h.Teams = append(h.Teams, demo.Team{Name: name, Description: "Invented patients for vigil bench.", Members: members})
		for i := t * sz.TeamSize; i < min(sz.Devices, (t+1)*sz.TeamSize); i++ {
			team.patients = append(team.patients, i)
		}
		h.teams = append(h.teams, team)
	}
	h.chartIndex = sz.Devices
	for i := range sz.Devices + 1 {
		team := h.Teams[demoTeams+min(i/sz.TeamSize, nTeams-1)].Name
		if i == h.chartIndex {
			team = h.Teams[demoTeams].Name
		}
		// Bench MRNs sort before the demo's ("H…"), so DemoPatientIDs lists them first, in order.
		h.Patients = append(h.Patients, demo.Patient{Team: team, Patient: rpm.Patient{
			MRN: fmt.Sprintf("B%07d", i), FamilyName: "Bench", GivenName: fmt.Sprintf("Patient %d", i),
			BirthDate: born.AddDate(0, 0, i%10000), Sex: rpm.SexFemale, TimeZone: "UTC"}})
	}
	return h
}

// benchDevice is a provisioned device on its patient.
type benchDevice struct {
	id, token, patient string
	seq                int64 // readings sent so far; ids continue from here
}

// provision signs everyone in, provisions the intake devices (and a glucometer for the alert
// figure) through the fleet API as admin and assigns them through the patients' API as a
// clinician of each patient's team.
func (b *benchRun) provision(ctx context.Context) error {
	ids, err := b.store.DemoPatientIDs(ctx, b.hospital.Hospital)
	if err != nil {
		return err
	}
	b.patientIDs = ids[:b.hospital.chartIndex+1]
	b.opts.progress("signing in the admin and %d clinicians through the built-in OpenID provider", len(b.hospital.Users)-len(demo.New().Users))
	admin, err := b.signIn(ctx, "admin")
	if err != nil {
		return err
	}
	b.clinicians = map[string]*benchClient{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, t := range b.hospital.teams {
		for _, u := range t.clinicians {
			g.Go(func() error {
				c, err := b.signIn(gctx, u)
				mu.Lock()
				b.clinicians[u] = c
				mu.Unlock()
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	b.opts.progress("provisioning and assigning %d devices through the API", b.hospital.patients+1)
	b.devices = make([]*benchDevice, b.hospital.patients)
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range b.hospital.patients + 1 {
		g.Go(func() error {
			kind, serial, patient := rpm.KindBedsideMonitor, fmt.Sprintf("BENCH-%07d", i), i
			if i == b.hospital.patients {
				kind, serial, patient = rpm.KindGlucometer, "BENCH-GLUCO", 0
			}
			team := b.hospital.teams[patient/b.size.TeamSize]
			d, err := b.provisionDevice(gctx, admin, b.clinicians[team.clinicians[0]], serial, kind, b.patientIDs[patient])
			if i == b.hospital.patients {
				b.glucometer = d
			} else {
				b.devices[i] = d
			}
			return err
		})
	}
	return g.Wait()
}

func (b *benchRun) provisionDevice(ctx context.Context, admin, clinician *benchClient, serial string, kind rpm.DeviceKind, patient string) (*benchDevice, error) {
	var created struct{ ID, Token string }
	err := admin.postJSON(ctx, "/api/v1/devices", map[string]string{"serial": serial, "vendor": "Vigil Bench", "model": "Bench", "kind": string(kind)},
		http.StatusCreated, &created)
	if err != nil {
		return nil, err
	}
	if err := clinician.postJSON(ctx, "/api/v1/patients/"+patient+"/devices", map[string]string{"device_id": created.ID}, 0, nil); err != nil {
		return nil, err
	}
	return &benchDevice{id: created.ID, token: created.Token, patient: patient}, nil
}

// benchClient is one signed-in browser: its cookies and its CSRF token.
type benchClient struct {
	base   string
	client *http.Client
	csrf   string
}

var (
	formTag    = regexp.MustCompile(`<form[^>]*>`)
	formAction = regexp.MustCompile(`action="([^"]*)"`)
	hiddenPair = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*name="([^"]*)"[^>]*value="([^"]*)"`)
	csrfMeta   = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)"`)
)

// signIn goes through the whole OpenID Connect flow with the built-in provider, as a browser does.
func (b *benchRun) signIn(ctx context.Context, username string) (*benchClient, error) {
	jar, _ := cookiejar.New(nil)
	c := &benchClient{base: b.base, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	loginURL, page, err := c.get(ctx, "/signin")
	if err != nil {
		return nil, err
	}
	tag := formTag.FindString(page)
	if tag == "" {
		return nil, errors.New("sign-in: the provider's page has no form")
	}
	action := loginURL
	if m := formAction.FindStringSubmatch(tag); m != nil {
		if action, err = loginURL.Parse(html.UnescapeString(m[1])); err != nil {
			return nil, err
		}
	}
	form := url.Values{"username": {username}, "password": {demo.Password}}
	for _, h := range hiddenPair.FindAllStringSubmatch(page, -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t := csrfMeta.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || t == nil {
		return nil, fmt.Errorf("sign-in as %s ended with %d at %s", username, resp.StatusCode, resp.Request.URL.Path)
	}
	c.csrf = string(t[1])
	return c, nil
}

func (c *benchClient) get(ctx context.Context, path string) (*url.URL, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return resp.Request.URL, string(body), err
}

// postJSON posts v as JSON with the CSRF token; want is the expected status (0: any 2xx).
func (c *benchClient) postJSON(ctx context.Context, path string, v any, want int, into any) error {
	body, _ := json.Marshal(v)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if (want != 0 && resp.StatusCode != want) || resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %d %.200s", strings.SplitN(path, "/", 5)[3], resp.StatusCode, answer)
	}
	if into != nil {
		return json.Unmarshal(answer, into)
	}
	return nil
}
