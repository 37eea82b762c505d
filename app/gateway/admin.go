package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kongchaos/kong/app"
)

// ConfigView is the body of GET /admin/config (and of a successful PUT).
type ConfigView struct {
	Region string `json:"region"`
	Dynamic
	// Initial is the runtime configuration the gateway started with: what
	// an operator (or kong's preflight) puts back after a change.
	Initial Dynamic `json:"initial"`
	// Burst is the token bucket depth in force (0 when max_rps is 0).
	Burst          int               `json:"burst"`
	Members        []Member          `json:"members"`
	PeerProxy      map[string]string `json:"peer_proxy"`
	PeerPublic     map[string]string `json:"peer_public"`
	Homes          map[string]string `json:"homes"`
	Timeouts       TimeoutsView      `json:"timeouts"`
	HealthInterval string            `json:"health_interval"`
}

// TimeoutsView shows Timeouts as Go duration strings.
type TimeoutsView struct {
	Member  string `json:"member"`
	Isthmus string `json:"isthmus"`
	Health  string `json:"health"`
}

// ConfigView returns the configuration in force.
func (g *Gateway) ConfigView() ConfigView {
	d := g.Dynamic()
	v := ConfigView{
		Region:     g.cfg.Region,
		Dynamic:    d,
		Initial:    g.initial,
		Members:    append([]Member(nil), g.cfg.Members...),
		PeerProxy:  maps.Clone(g.cfg.PeerProxy),
		PeerPublic: maps.Clone(g.cfg.PeerPublic),
		Homes:      maps.Clone(g.cfg.Homes),
		Timeouts: TimeoutsView{
			Member:  g.cfg.Timeouts.Member.String(),
			Isthmus: g.cfg.Timeouts.Isthmus.String(),
			Health:  g.cfg.Timeouts.Health.String(),
		},
		HealthInterval: g.cfg.HealthInterval.String(),
	}
	if d.MaxRPS > 0 {
		v.Burst = burstFor(d.MaxRPS)
	}
	return v
}

// Stats returns the last window seconds (1..StatsWindow) of per-second series.
func (g *Gateway) Stats(window int) StatsReport {
	if window <= 0 || window > StatsWindow {
		window = StatsWindow
	}
	now := g.now()
	pts, tot := g.series.report(now, window)
	tot.InFlight = g.inflight.Load()
	return StatsReport{Region: g.cfg.Region, Now: now.Unix(), WindowS: window, Series: pts, Totals: tot}
}

func (g *Gateway) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, g.ConfigView())
	})
	mux.HandleFunc("PUT /admin/config", g.putConfig)
	mux.HandleFunc("GET /admin/members", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, g.Members())
	})
	mux.HandleFunc("GET /admin/stats", func(w http.ResponseWriter, r *http.Request) {
		window := StatsWindow
		if s := r.URL.Query().Get("seconds"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > StatsWindow {
				writeJSON(w, http.StatusBadRequest, apiError{fmt.Sprintf("seconds must be an integer in 1..%d, got %q", StatsWindow, s)})
				return
			}
			window = n
		}
		writeJSON(w, http.StatusOK, g.Stats(window))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET "+app.PathHealth, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

type apiError struct {
	Error string `json:"error"`
}

// maxAdminBody bounds the body of PUT /admin/config.
const maxAdminBody = 64 << 10

func (g *Gateway) putConfig(w http.ResponseWriter, r *http.Request) {
	if err := app.CheckJSONContentType(r); err != nil {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{err.Error()})
		return
	}
	if r.ContentLength > maxAdminBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{"body larger than 64 KiB"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"reading body: " + err.Error()})
		return
	}
	if len(body) > maxAdminBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{"body larger than 64 KiB"})
		return
	}
	p, err := decodePatch(body)
	if err == nil {
		_, err = g.Update(p)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, g.ConfigView())
}

const patchFields = "mode, failover, max_rps, max_concurrency, home_overrides, member_try_ms, ignore_geo"

func decodePatch(body []byte) (Patch, error) {
	var p Patch
	if len(bytes.TrimSpace(body)) == 0 {
		return p, fmt.Errorf("empty body: send a JSON object with any of %s", patchFields)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return p, fmt.Errorf("invalid JSON: field %s must be a %s, got %s", te.Field, te.Type, te.Value)
		}
		return p, fmt.Errorf("invalid JSON (want an object with any of %s): %v", patchFields, err)
	}
	if dec.More() {
		return p, errors.New("invalid JSON: trailing data after the object")
	}
	if p.empty() {
		return p, fmt.Errorf("nothing to change: give any of %s", patchFields)
	}
	return p, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// AdminClient calls a gateway's admin API with the world's secret.
type AdminClient struct{ c app.Client }

// NewAdminClient returns a client of the gateway at base (scheme://host:port).
func NewAdminClient(base, secret string) AdminClient {
	return AdminClient{app.NewClient(base, secret)}
}

// Config is GET /admin/config: the configuration in force.
func (a AdminClient) Config(ctx context.Context) (ConfigView, error) {
	return app.Call[ConfigView](ctx, a.c, http.MethodGet, "/admin/config", nil)
}

// Update is PUT /admin/config: it applies p and returns the configuration
// then in force.
func (a AdminClient) Update(ctx context.Context, p Patch) (ConfigView, error) {
	return app.Call[ConfigView](ctx, a.c, http.MethodPut, "/admin/config", p)
}

// Members is GET /admin/members: the member instances and their health.
func (a AdminClient) Members(ctx context.Context) ([]MemberState, error) {
	return app.Call[[]MemberState](ctx, a.c, http.MethodGet, "/admin/members", nil)
}
