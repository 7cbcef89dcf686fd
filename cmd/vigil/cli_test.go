package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-rpm/vigil/rpm"
	"github.com/vigil-rpm/vigil/store/storetest"
)

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"serve", "migrate", "demo"}},
		{[]string{"serve", "--help"}, []string{"VIGIL_DATABASE_URL", "VIGIL_OIDC_ISSUER", "VIGIL_OIDC_ROLE_CLAIM", "VIGIL_MIGRATE_ON_START"}},
		{[]string{"migrate", "-h"}, []string{"Applies the pending database migrations"}},
		{[]string{"demo", "--help"}, []string{"-addr", "127.0.0.1:8080", "VIGIL_DATABASE_URL"}},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), tt.args, func(string) string { return "" }, &out, &errOut); code != 0 {
			t.Errorf("%v: exit %d, stderr %q", tt.args, code, errOut.String())
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: help lacks %q:\n%s", tt.args, w, out.String())
			}
		}
	}
}

func TestWrongUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"demo", "--nope"}, {"migrate", "extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestServeConfigErrorsAreSpecific(t *testing.T) {
	complete := map[string]string{
		"VIGIL_DATABASE_URL": "postgres://vigil@db/vigil", "VIGIL_BASE_URL": "https://vigil.example.org",
		"VIGIL_OIDC_ISSUER": "https://login.example.org", "VIGIL_OIDC_CLIENT_ID": "vigil", "VIGIL_OIDC_CLIENT_SECRET": "s",
	}
	tests := []struct {
		name   string
		change map[string]string
		want   []string
	}{
		{"nothing set", map[string]string{"VIGIL_DATABASE_URL": "", "VIGIL_BASE_URL": "", "VIGIL_OIDC_ISSUER": "",
			"VIGIL_OIDC_CLIENT_ID": "", "VIGIL_OIDC_CLIENT_SECRET": ""}, []string{
			"VIGIL_DATABASE_URL is required for serve; for a local trial use `vigil demo`",
			"VIGIL_OIDC_ISSUER is required for serve; for a local trial use `vigil demo`",
			"VIGIL_OIDC_CLIENT_ID is required", "VIGIL_OIDC_CLIENT_SECRET is required", "VIGIL_BASE_URL is required"}},
		{"bad base URL", map[string]string{"VIGIL_BASE_URL": "vigil.example.org"}, []string{"VIGIL_BASE_URL must be an absolute http(s) URL"}},
		{"bad issuer", map[string]string{"VIGIL_OIDC_ISSUER": "login"}, []string{"VIGIL_OIDC_ISSUER must be the provider's issuer URL"}},
		{"bad address", map[string]string{"VIGIL_ADDR": "8080"}, []string{"VIGIL_ADDR must be host:port"}},
		{"bad boolean", map[string]string{"VIGIL_MIGRATE_ON_START": "sure"}, []string{"VIGIL_MIGRATE_ON_START must be true or false"}},
		{"bad log format", map[string]string{"VIGIL_LOG_FORMAT": "xml"}, []string{"VIGIL_LOG_FORMAT must be json or text"}},
		{"bad timeout", map[string]string{"VIGIL_SHUTDOWN_TIMEOUT": "-1s"}, []string{"VIGIL_SHUTDOWN_TIMEOUT must be a positive duration"}},
		{"bad horizon", map[string]string{"VIGIL_READING_MAX_AGE": "forever"}, []string{"VIGIL_READING_MAX_AGE must be a positive duration"}},
		{"bad rate", map[string]string{"VIGIL_DEVICE_RATE_LIMIT": "0"}, []string{"VIGIL_DEVICE_RATE_LIMIT must be a positive number"}},
		{"bad proxy", map[string]string{"VIGIL_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, []string{"VIGIL_TRUSTED_PROXIES must list addresses or CIDR ranges"}},
		{"bad NEWS2 freshness", map[string]string{"VIGIL_NEWS2_FRESHNESS": "pulse=an hour"}, []string{`VIGIL_NEWS2_FRESHNESS: "pulse=an hour": the freshness must be a positive duration`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(k string) string {
				if v, ok := tt.change[k]; ok {
					return v
				}
				return complete[k]
			}
			_, err := loadConfig(env, true)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	cfg, err := loadConfig(func(k string) string { return complete[k] }, true)
	if err != nil {
		t.Fatalf("complete config refused: %v", err)
	}
	if cfg.Addr != ":8080" || cfg.OIDCRoleClaim != "roles" || cfg.MigrateOnStart || cfg.NEWS2Freshness.For(rpm.CodeBodyTemp) != 12*time.Hour {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestServeCommandReportsMissingSettings(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"serve"}, func(string) string { return "" }, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "VIGIL_OIDC_ISSUER is required for serve") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

// TestSimulateProvisionsOnlyDemoPatients: load-test devices never go on a database's real patients.
func TestSimulateProvisionsOnlyDemoPatients(t *testing.T) {
	url := storetest.URL(t) // migrated, no demo hospital
	env := func(k string) string { return map[string]string{"VIGIL_DATABASE_URL": url}[k] }
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"simulate", "--provision", "2", "--duration", "1s"}, env, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "demo hospital") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}
