package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// headerRequestID carries the request id in and out, so a proxy's id and Vigil's logs line up.
const headerRequestID = "X-Request-Id"

// validRequestID is what Vigil accepts as a request id from a proxy; anything else is replaced, so
// a client cannot write arbitrary text into the logs.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// requestID gives every request an id, taken from a proxy's header when well-formed.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(headerRequestID)
		if !validRequestID.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(headerRequestID, id)
		c.Response().Header().Set(headerRequestID, id)
		return next(c)
	}
}

// requestIDOf returns the id requestID gave c.
func requestIDOf(c echo.Context) string {
	id, _ := c.Get(headerRequestID).(string)
	return id
}

// metrics are the server's Prometheus instruments.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_http_requests_total", Help: "HTTP requests answered, by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_http_request_duration_seconds", Help: "Time to answer HTTP requests, by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// quietRoutes are probed every few seconds; their successes are logged at debug level only.
var quietRoutes = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// observe logs and counts every request. A log line names the route pattern (e.g.
// /api/v1/patients/:id), never the URL's query, which could carry a name or an MRN. It hands errors
// to the error handler itself so that it sees the status actually sent.
func observe(log *slog.Logger, m *metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			elapsed := time.Since(start)
			route, method := routeOf(c), c.Request().Method
			status := c.Response().Status
			m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if quietRoutes[route] && status < 400 {
				level = slog.LevelDebug
			}
			log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("request_id", requestIDOf(c)),
				slog.String("method", method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int64("bytes", c.Response().Size),
				slog.Duration("duration", elapsed),
				slog.String("remote", c.RealIP()),
			)
			return nil
		}
	}
}

// routeOf is the matched route's pattern; requests that matched none share one label, so a scan of
// random URLs cannot blow up the metrics.
func routeOf(c echo.Context) string {
	route := c.Path()
	if route == "" || route == "/*" {
		return "unmatched"
	}
	return route
}

// contentSecurityPolicy allows only Vigil's own scripts, styles and connections, and the inline
// scripts that carry the response's nonce: the page's import map, which makes the script modules
// load their content-hashed URLs (static.Assets.ImportMap).
func contentSecurityPolicy(nonce string) string {
	return "default-src 'self'; script-src 'self' 'nonce-" + nonce + "'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
}

// newNonce returns a fresh CSP nonce: 128 random bits, base64.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.StdEncoding.EncodeToString(b[:])
}

// securityHeaders sets the headers that keep pages from being framed, sniffed or leaking referrers,
// and HSTS when Vigil is served over HTTPS. Each response gets its own CSP nonce, which the views
// find in the request's context (templ.WithNonce) and put on the inline scripts they render.
func securityHeaders(secure bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			nonce := newNonce()
			r := c.Request()
			c.SetRequest(r.WithContext(templ.WithNonce(r.Context(), nonce)))
			h := c.Response().Header()
			h.Set("Content-Security-Policy", contentSecurityPolicy(nonce))
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
			if secure || c.Request().TLS != nil {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			return next(c)
		}
	}
}
