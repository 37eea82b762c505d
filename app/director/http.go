package director

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kongchaos/kong/app"
)

// RouteResponse answers GET /v1/route.
type RouteResponse struct {
	Geo     string `json:"geo"`
	Region  string `json:"region"`
	Gateway string `json:"gateway"`
}

// WeightsRequest is the body of PUT /admin/weights.
type WeightsRequest struct {
	Geo     string             `json:"geo"`
	Weights map[string]float64 `json:"weights"`
}

// OverrideRequest is the body of PUT /admin/override.
type OverrideRequest struct {
	Geo    string `json:"geo"`
	Region string `json:"region"`
}

// EvacuateRequest is the body of POST /admin/evacuate.
type EvacuateRequest struct {
	Fraction *float64 `json:"fraction"`
	Region   string   `json:"region"`
}

// RestoreRequest is the (optional) body of POST /admin/restore.
type RestoreRequest struct {
	Region string `json:"region,omitempty"`
}

// BounceRequest is the body of PUT /admin/bounce.
type BounceRequest struct {
	Bounce *bool `json:"bounce"`
}

// CapacityRequest is the body of PUT /admin/capacity.
type CapacityRequest struct {
	Region   string   `json:"region"`
	Capacity *float64 `json:"capacity"`
}

// ChangesResponse answers GET /admin/changes.
type ChangesResponse struct {
	Changes []Change `json:"changes"`
	// Dropped is how many of the oldest changes the log no longer holds (it
	// keeps the last MaxChanges).
	Dropped int `json:"dropped"`
}

// ErrorResponse is the body of every 4xx and 5xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

// maxBody bounds admin request bodies.
const maxBody = app.MaxBody

// Server timeouts: every answer is computed at once, in memory.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// errTooLarge is answered 413.
var errTooLarge = errors.New("request body too large")

// Serve runs a director built from cfg on listen until ctx ends, then shuts
// it down gracefully (5 s deadline).
func Serve(ctx context.Context, listen string, cfg Config, log *slog.Logger) error {
	d, err := New(cfg)
	if err != nil {
		return fmt.Errorf("director: %w", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("director: listen on %s: %w", listen, err)
	}
	return d.Serve(ctx, ln, log)
}

// Serve runs the director's HTTP API on ln until ctx ends, then shuts it
// down gracefully (5 s deadline). It closes ln.
func (d *Director) Serve(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: app.GuardAdmin(d.secret, d.Handler(log)), ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("director serving", "addr", addr, "regions", len(d.w.regions), "geos", len(d.w.geos))
	select {
	case err := <-errc:
		return fmt.Errorf("director: serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("director: shut down on %s: %w", addr, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("director: serve on %s: %w", addr, err)
	}
	log.Info("director stopped", "addr", addr)
	return nil
}

// Handler is the director's HTTP API; changes are logged to log (nil: not
// logged).
func (d *Director) Handler(log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{d: d, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/route", h.route)
	mux.HandleFunc("GET /admin/table", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, d.Table())
	})
	mux.HandleFunc("PUT /admin/weights", h.weights)
	mux.HandleFunc("PUT /admin/override", h.setOverride)
	mux.HandleFunc("DELETE /admin/override", h.clearOverride)
	mux.HandleFunc("POST /admin/evacuate", h.evacuate)
	mux.HandleFunc("POST /admin/restore", h.restore)
	mux.HandleFunc("PUT /admin/bounce", h.bounce)
	mux.HandleFunc("PUT /admin/capacity", h.capacity)
	mux.HandleFunc("GET /admin/changes", h.changes)
	mux.HandleFunc("GET "+app.PathHealth, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.m.reg, promhttp.HandlerOpts{}))
	return mux
}

type handler struct {
	d   *Director
	log *slog.Logger
}

// route answers GET /v1/route?geo=G&key=K. The geo and key may also come in
// the X-Kong-Geo and X-Kong-Session headers; without a key the answer is
// drawn at random from the geo's distribution.
func (h *handler) route(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	geo := q.Get("geo")
	if geo == "" {
		geo = r.Header.Get(app.HeaderGeo)
	}
	if geo == "" {
		writeError(w, fmt.Errorf("%w: missing geo: pass ?geo=<geo> (known geos: %s)", ErrInvalid, h.d.geoNames()))
		return
	}
	key := q.Get("key")
	if key == "" {
		key = r.Header.Get(app.HeaderSession)
	}
	if key == "" {
		key = strconv.FormatUint(rand.Uint64(), 36)
	}
	reg, err := h.d.Route(geo, key)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, RouteResponse{Geo: geo, Region: reg.Name, Gateway: reg.Gateway})
}

func (h *handler) weights(w http.ResponseWriter, r *http.Request) {
	var req WeightsRequest
	if err := decode(w, r, &req, `{"geo": "...", "weights": {"<region>": <weight>, ...}}`, false); err != nil {
		writeError(w, err)
		return
	}
	h.answer(w)(h.d.SetWeights(req.Geo, req.Weights))
}

func (h *handler) setOverride(w http.ResponseWriter, r *http.Request) {
	var req OverrideRequest
	if err := decode(w, r, &req, `{"geo": "...", "region": "..."}`, false); err != nil {
		writeError(w, err)
		return
	}
	h.answer(w)(h.d.SetOverride(req.Geo, req.Region))
}

func (h *handler) clearOverride(w http.ResponseWriter, r *http.Request) {
	geo := r.URL.Query().Get("geo")
	if geo == "" {
		writeError(w, fmt.Errorf("%w: missing geo: pass ?geo=<geo> (known geos: %s)", ErrInvalid, h.d.geoNames()))
		return
	}
	h.answer(w)(h.d.ClearOverride(geo))
}

func (h *handler) evacuate(w http.ResponseWriter, r *http.Request) {
	var req EvacuateRequest
	if err := decode(w, r, &req, `{"region": "...", "fraction": <0..1>}`, false); err != nil {
		writeError(w, err)
		return
	}
	if req.Region == "" {
		writeError(w, h.d.unknownRegion(""))
		return
	}
	if req.Fraction == nil {
		writeError(w, fmt.Errorf("%w: missing fraction: send {\"region\": %q, \"fraction\": <0..1>}", ErrInvalid, req.Region))
		return
	}
	h.answer(w)(h.d.Evacuate(req.Region, *req.Fraction))
}

func (h *handler) restore(w http.ResponseWriter, r *http.Request) {
	var req RestoreRequest
	if err := decode(w, r, &req, `{"region": "..."} or no body`, true); err != nil {
		writeError(w, err)
		return
	}
	h.answer(w)(h.d.Restore(req.Region))
}

func (h *handler) bounce(w http.ResponseWriter, r *http.Request) {
	var req BounceRequest
	const want = `{"bounce": true|false}`
	if err := decode(w, r, &req, want, false); err != nil {
		writeError(w, err)
		return
	}
	if req.Bounce == nil {
		writeError(w, fmt.Errorf("%w: missing bounce: send %s", ErrInvalid, want))
		return
	}
	h.answer(w)(h.d.SetBounce(*req.Bounce), nil)
}

// capacity answers PUT /admin/capacity.
func (h *handler) capacity(w http.ResponseWriter, r *http.Request) {
	var req CapacityRequest
	const want = `{"region": "<name>", "capacity": <requests per second>}`
	if err := decode(w, r, &req, want, false); err != nil {
		writeError(w, err)
		return
	}
	if req.Capacity == nil {
		writeError(w, fmt.Errorf("%w: missing capacity: send %s", ErrInvalid, want))
		return
	}
	h.answer(w)(h.d.SetCapacity(req.Region, *req.Capacity))
}

// changes answers GET /admin/changes, optionally only the entries after
// ?since=<seq>.
func (h *handler) changes(w http.ResponseWriter, r *http.Request) {
	since := -1
	if s := r.URL.Query().Get("since"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, fmt.Errorf("%w: since=%q: want a change seq (an integer >= 0)", ErrInvalid, s))
			return
		}
		since = n
	}
	out := ChangesResponse{Changes: []Change{}, Dropped: h.d.Dropped()}
	for _, c := range h.d.Changes() {
		if c.Seq > since {
			out.Changes = append(out.Changes, c)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// answer writes the outcome of a change and logs it.
func (h *handler) answer(w http.ResponseWriter) func(Change, error) {
	return func(c Change, err error) {
		if err != nil {
			h.log.Warn("director change refused", "err", err)
			writeError(w, err)
			return
		}
		h.log.Info("director change", "seq", c.Seq, "kind", c.Kind, "target", c.Target, "description", c.Description)
		writeJSON(w, http.StatusOK, c)
	}
}

// decode reads one JSON object into v, refusing a body not declared
// application/json (415), one larger than maxBody (413), unknown fields and
// trailing data (400). want shows the expected shape in error messages.
func decode(w http.ResponseWriter, r *http.Request, v any, want string, emptyOK bool) error {
	if err := app.CheckJSONContentType(r); err != nil {
		return fmt.Errorf("%w: send %s", err, want)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	var tooBig *http.MaxBytesError
	if err := dec.Decode(v); err != nil {
		switch {
		case errors.As(err, &tooBig):
			return fmt.Errorf("%w: more than %d bytes: send %s", errTooLarge, tooBig.Limit, want)
		case errors.Is(err, io.EOF):
			if emptyOK {
				return nil
			}
			return fmt.Errorf("%w: empty body: send %s", ErrInvalid, want)
		}
		return fmt.Errorf("%w: bad body (%v): send %s", ErrInvalid, err, want)
	}
	if err := dec.Decode(&json.RawMessage{}); !errors.Is(err, io.EOF) {
		if errors.As(err, &tooBig) {
			return fmt.Errorf("%w: more than %d bytes: send %s", errTooLarge, tooBig.Limit, want)
		}
		return fmt.Errorf("%w: unexpected data after the JSON object: send %s", ErrInvalid, want)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrLastRegion):
		status = http.StatusConflict
	case errors.Is(err, ErrUnknownGeo), errors.Is(err, ErrUnknownRegion), errors.Is(err, ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, errTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, app.ErrContentType):
		status = http.StatusUnsupportedMediaType
	}
	writeJSON(w, status, ErrorResponse{Error: err.Error()})
}

// AdminClient calls a director's HTTP API with the world's secret: its
// admin endpoints, and the route a user of a geo is given.
type AdminClient struct{ c app.Client }

// NewAdminClient returns a client of the director at base (scheme://host:port).
func NewAdminClient(base, secret string) AdminClient {
	return AdminClient{app.NewClient(base, secret)}
}

// Route is GET /v1/route: where the director sends the user key of geo.
func (a AdminClient) Route(ctx context.Context, geo, key string) (RouteResponse, error) {
	return app.Call[RouteResponse](ctx, a.c, http.MethodGet, "/v1/route?geo="+url.QueryEscape(geo)+"&key="+url.QueryEscape(key), nil)
}

// Table is GET /admin/table: the director's whole state.
func (a AdminClient) Table(ctx context.Context) (Table, error) {
	return app.Call[Table](ctx, a.c, http.MethodGet, "/admin/table", nil)
}

// SetWeights is PUT /admin/weights: geo's distribution over regions.
func (a AdminClient) SetWeights(ctx context.Context, geo string, weights map[string]float64) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodPut, "/admin/weights", WeightsRequest{Geo: geo, Weights: weights})
}

// SetOverride is PUT /admin/override: every user of geo goes to region.
func (a AdminClient) SetOverride(ctx context.Context, geo, region string) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodPut, "/admin/override", OverrideRequest{Geo: geo, Region: region})
}

// ClearOverride is DELETE /admin/override: geo follows its weights again.
func (a AdminClient) ClearOverride(ctx context.Context, geo string) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodDelete, "/admin/override?geo="+url.QueryEscape(geo), nil)
}

// Evacuate is POST /admin/evacuate: fraction (0..1) of region's users go
// to the other regions.
func (a AdminClient) Evacuate(ctx context.Context, region string, fraction float64) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodPost, "/admin/evacuate", EvacuateRequest{Region: region, Fraction: &fraction})
}

// SetBounce is PUT /admin/bounce: on, each answer to a session is another
// region than its last (Director.SetBounce); off, sessions follow the
// table again.
func (a AdminClient) SetBounce(ctx context.Context, on bool) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodPut, "/admin/bounce", BounceRequest{Bounce: &on})
}

// SetCapacity is PUT /admin/capacity: region's capacity, as the director
// weighs spare capacity (Director.SetCapacity).
func (a AdminClient) SetCapacity(ctx context.Context, region string, capacity float64) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodPut, "/admin/capacity", CapacityRequest{Region: region, Capacity: &capacity})
}

// Restore is POST /admin/restore: region gets its users back.
func (a AdminClient) Restore(ctx context.Context, region string) (Change, error) {
	return app.Call[Change](ctx, a.c, http.MethodPost, "/admin/restore", RestoreRequest{Region: region})
}
