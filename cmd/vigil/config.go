package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-rpm/vigil/alerts"
	"github.com/vigil-rpm/vigil/rpm"
)

// config is Vigil's configuration, read from the environment (names fixed by docs/API.md).
type config struct {
	DatabaseURL      string
	Addr             string
	BaseURL          *url.URL
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	OIDCRoleClaim    string
	MigrateOnStart   bool
	BuiltinProvider  bool
	SessionIdle      time.Duration
	SessionLifetime  time.Duration
	TrustedProxies   []*net.IPNet
	DeviceRate       float64
	DeviceBurst      int
	ReadingMaxAge    time.Duration
	RejectedKeep     time.Duration
	LogFormat        string
	LogLevel         slog.Level
	ShutdownTimeout  time.Duration
	NEWS2Freshness   alerts.Freshness
	Clock            rpm.Clock // the hospital's: VIGIL_TIME_ZONE, 24-hour
}

// setting documents one environment variable; settings is the table `vigil serve --help` and
// docs/API.md show (docs_test.go holds the two equal).
type setting struct {
	name, def, help string
}

var settings = []setting{
	{"VIGIL_DATABASE_URL", "", "PostgreSQL URL, e.g. postgres://vigil@db.internal/vigil (required)"},
	{"VIGIL_ADDR", ":8080", "address to listen on"},
	{"VIGIL_BASE_URL", "", "external URL users reach Vigil at, e.g. https://vigil.example.org (required)"},
	{"VIGIL_OIDC_ISSUER", "", "OpenID Connect issuer URL (required)"},
	{"VIGIL_OIDC_CLIENT_ID", "", "OpenID Connect client id (required)"},
	{"VIGIL_OIDC_CLIENT_SECRET", "", "OpenID Connect client secret (required)"},
	{"VIGIL_OIDC_ROLE_CLAIM", "roles", "ID-token claim holding the user's roles"},
	{"VIGIL_MIGRATE_ON_START", "false", "apply pending migrations at start instead of refusing to start"},
	{"VIGIL_SESSION_IDLE_TIMEOUT", "30m", "a session ends after this long without a request"},
	{"VIGIL_SESSION_LIFETIME", "12h", "a session ends this long after sign-in, whatever happens"},
	{"VIGIL_INSECURE_BUILTIN_PROVIDER", "false", "UNSAFE: serve the built-in demo OpenID provider with the demo accounts instead of VIGIL_OIDC_*"},
	{"VIGIL_DEVICE_RATE_LIMIT", "5", "requests per second each device may post (bursts allowed, below)"},
	{"VIGIL_DEVICE_RATE_BURST", "20", "requests a device may post at once before the rate limit applies"},
	{"VIGIL_READING_MAX_AGE", "720h", "readings older than this are refused (too_old)"},
	{"VIGIL_REJECTED_RETENTION", "720h", "how long rejected readings are kept for data-quality review"},
	{"VIGIL_TRUSTED_PROXIES", "", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed"},
	{"VIGIL_LOG_FORMAT", "json", "log format: json or text"},
	{"VIGIL_LOG_LEVEL", "info", "log level: debug, info, warn or error"},
	{"VIGIL_SHUTDOWN_TIMEOUT", "20s", "how long shutdown waits for requests in flight"},
	{"VIGIL_TIME_ZONE", rpm.DefaultTimeZone, "the hospital's time zone (IANA name, e.g. Europe/London): pages, alert notes and webhook texts show times in it; each user may choose their own"},
	{"VIGIL_NEWS2_FRESHNESS", "respiration=1h,spo2=1h,pulse=1h,systolic=12h,temperature=12h,assessment=12h",
		"how old each NEWS2 input may be and still count (assessment: a clinician's oxygen and consciousness entries)"},
}

// settingsHelp renders the settings table for --help.
func settingsHelp() string {
	var b strings.Builder
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		}
		fmt.Fprintf(&b, "  %-26s %s%s\n", s.name, s.help, def)
	}
	return b.String()
}

// loadConfig reads the configuration. When forServe is set, the settings a production server
// cannot do without are required. Every problem is reported at once, each in its own words.
func loadConfig(getenv func(string) string, forServe bool) (config, error) {
	env := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		for _, s := range settings {
			if s.name == name {
				return s.def
			}
		}
		return ""
	}
	var errs []error
	cfg := config{
		DatabaseURL:      env("VIGIL_DATABASE_URL"),
		Addr:             env("VIGIL_ADDR"),
		OIDCIssuer:       env("VIGIL_OIDC_ISSUER"),
		OIDCClientID:     env("VIGIL_OIDC_CLIENT_ID"),
		OIDCClientSecret: env("VIGIL_OIDC_CLIENT_SECRET"),
		OIDCRoleClaim:    env("VIGIL_OIDC_ROLE_CLAIM"),
		LogFormat:        env("VIGIL_LOG_FORMAT"),
	}
	var err error
	if cfg.BuiltinProvider, err = strconv.ParseBool(env("VIGIL_INSECURE_BUILTIN_PROVIDER")); err != nil {
		errs = append(errs, fmt.Errorf("VIGIL_INSECURE_BUILTIN_PROVIDER must be true or false (got %q)", env("VIGIL_INSECURE_BUILTIN_PROVIDER")))
	}
	if forServe {
		for _, req := range []struct{ name, value string }{
			{"VIGIL_DATABASE_URL", cfg.DatabaseURL},
			{"VIGIL_BASE_URL", env("VIGIL_BASE_URL")},
			{"VIGIL_OIDC_ISSUER", cfg.OIDCIssuer},
			{"VIGIL_OIDC_CLIENT_ID", cfg.OIDCClientID},
			{"VIGIL_OIDC_CLIENT_SECRET", cfg.OIDCClientSecret},
		} {
			if req.value == "" && !(cfg.BuiltinProvider && strings.HasPrefix(req.name, "VIGIL_OIDC_")) {
				errs = append(errs, fmt.Errorf("%s is required for serve; for a local trial use `vigil demo`", req.name))
			}
		}
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		errs = append(errs, fmt.Errorf("VIGIL_ADDR must be host:port or :port, e.g. :8080 (got %q)", cfg.Addr))
	}
	if raw := env("VIGIL_BASE_URL"); raw != "" {
		u, err := parseBaseURL(raw)
		if err != nil {
			errs = append(errs, err)
		}
		cfg.BaseURL = u
	}
	if cfg.OIDCIssuer != "" {
		if u, err := url.Parse(cfg.OIDCIssuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("VIGIL_OIDC_ISSUER must be the provider's issuer URL, e.g. https://login.example.org/realms/hospital (got %q)", cfg.OIDCIssuer))
		}
	}
	if cfg.MigrateOnStart, err = strconv.ParseBool(env("VIGIL_MIGRATE_ON_START")); err != nil {
		errs = append(errs, fmt.Errorf("VIGIL_MIGRATE_ON_START must be true or false (got %q)", env("VIGIL_MIGRATE_ON_START")))
	}
	if cfg.LogFormat != "json" && cfg.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("VIGIL_LOG_FORMAT must be json or text (got %q)", cfg.LogFormat))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(env("VIGIL_LOG_LEVEL"))); err != nil {
		errs = append(errs, fmt.Errorf("VIGIL_LOG_LEVEL must be debug, info, warn or error (got %q)", env("VIGIL_LOG_LEVEL")))
	}
	if cfg.ShutdownTimeout, err = time.ParseDuration(env("VIGIL_SHUTDOWN_TIMEOUT")); err != nil || cfg.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("VIGIL_SHUTDOWN_TIMEOUT must be a positive duration such as 20s (got %q)", env("VIGIL_SHUTDOWN_TIMEOUT")))
	}
	for _, d := range []struct {
		name string
		dest *time.Duration
	}{{"VIGIL_SESSION_IDLE_TIMEOUT", &cfg.SessionIdle}, {"VIGIL_SESSION_LIFETIME", &cfg.SessionLifetime},
		{"VIGIL_READING_MAX_AGE", &cfg.ReadingMaxAge}, {"VIGIL_REJECTED_RETENTION", &cfg.RejectedKeep}} {
		if *d.dest, err = time.ParseDuration(env(d.name)); err != nil || *d.dest <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive duration such as 30m (got %q)", d.name, env(d.name)))
		}
	}
	if cfg.Clock, err = rpm.LoadClock(env("VIGIL_TIME_ZONE"), false); err != nil {
		errs = append(errs, fmt.Errorf("VIGIL_TIME_ZONE: %w", err))
	}
	if cfg.NEWS2Freshness, err = alerts.ParseFreshness(env("VIGIL_NEWS2_FRESHNESS")); err != nil {
		errs = append(errs, fmt.Errorf("VIGIL_NEWS2_FRESHNESS: %w", err))
	}
	if cfg.DeviceRate, err = strconv.ParseFloat(env("VIGIL_DEVICE_RATE_LIMIT"), 64); err != nil || cfg.DeviceRate <= 0 {
		errs = append(errs, fmt.Errorf("VIGIL_DEVICE_RATE_LIMIT must be a positive number of requests per second (got %q)", env("VIGIL_DEVICE_RATE_LIMIT")))
	}
	if cfg.DeviceBurst, err = strconv.Atoi(env("VIGIL_DEVICE_RATE_BURST")); err != nil || cfg.DeviceBurst < 1 {
		errs = append(errs, fmt.Errorf("VIGIL_DEVICE_RATE_BURST must be a whole number of at least 1 (got %q)", env("VIGIL_DEVICE_RATE_BURST")))
	}
	for _, p := range strings.Split(env("VIGIL_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			p += map[bool]string{true: "/128", false: "/32"}[strings.Contains(p, ":")]
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("VIGIL_TRUSTED_PROXIES must list addresses or CIDR ranges, e.g. 10.0.0.0/8 (got %q)", p))
			continue
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, n)
	}
	return cfg, errors.Join(errs...)
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("VIGIL_BASE_URL must be an absolute http(s) URL without query, e.g. https://vigil.example.org (got %q)", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}
