package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kongchaos/kong/app"
)

// Gateway is the edge of one region. It is an http.Handler; create it with
// New and stop its health checks with Close.
type Gateway struct {
	cfg Config // normalized; the Dynamic fields are the initial values only
	log *slog.Logger
	now func() time.Time

	dyn   atomic.Pointer[Dynamic]
	dynMu sync.Mutex // serializes updates
	// initial is the Dynamic the gateway started with.
	initial Dynamic

	bal      *balancer
	bucket   tokenBucket
	inflight atomic.Int64

	series  series
	metrics *metrics

	memberRT     *http.Transport
	peerRT       *http.Transport
	healthClient *http.Client

	localProxy    *httputil.ReverseProxy
	failoverProxy *httputil.ReverseProxy
	peers         map[string]*peer

	admin http.Handler

	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// peer is another region's gateway.
type peer struct {
	region   string
	proxyURL *url.URL // isthmus target
	public   string   // redirect base, no trailing slash
	rp       *httputil.ReverseProxy
}

var routeKey = http.CanonicalHeaderKey(app.HeaderRoute)

// New validates cfg, fills in its defaults and starts the health checks of
// the member instances (stop them with Close).
func New(cfg Config) (*Gateway, error) { return newGateway(cfg, time.Now) }

// newGateway is New with a clock (tests).
func newGateway(cfg Config, now func() time.Time) (*Gateway, error) {
	c, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	g := &Gateway{cfg: c, log: c.Log, now: now}
	g.initial = Dynamic{Mode: c.Mode, Failover: c.Failover, MaxRPS: c.MaxRPS, MaxConcurrency: c.MaxConcurrency,
		MemberTryMS: int(c.Timeouts.MemberTry.Milliseconds())}
	start := g.initial
	g.dyn.Store(&start)
	if g.bal, err = newBalancer(c.Members); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	g.memberRT = newTransport(min(time.Second, c.Timeouts.Member/2))
	g.peerRT = newTransport(c.Timeouts.Isthmus)
	g.healthClient = &http.Client{
		Transport:     newTransport(c.Timeouts.Health),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	g.localProxy = g.memberProxy(app.RouteLocal)
	g.failoverProxy = g.memberProxy(app.RouteFailover)
	g.peers = map[string]*peer{}
	for region, raw := range c.PeerProxy {
		u, _ := url.Parse(raw) // validated by normalize
		p := &peer{region: region, proxyURL: u, public: strings.TrimSuffix(c.PeerPublic[region], "/")}
		p.rp = g.isthmusProxy(p)
		g.peers[region] = p
	}
	g.metrics = newMetrics(g)
	g.admin = g.adminHandler()

	ctx, cancel := context.WithCancel(context.Background())
	g.stop = cancel
	for _, in := range g.bal.all {
		g.wg.Add(1)
		go g.healthLoop(ctx, in)
	}
	return g, nil
}

// Close stops the health checks and closes idle connections. It does not
// wait for requests in flight (http.Server.Shutdown does).
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		g.stop()
		g.wg.Wait()
		g.memberRT.CloseIdleConnections()
		g.peerRT.CloseIdleConnections()
		g.healthClient.CloseIdleConnections()
	})
	return nil
}

// Region is the gateway's region.
func (g *Gateway) Region() string { return g.cfg.Region }

// Dynamic returns the runtime configuration in force.
func (g *Gateway) Dynamic() Dynamic { return *g.dyn.Load() }

// Update applies a partial change of the runtime configuration; it takes
// effect for the next request. On a validation error nothing changes.
func (g *Gateway) Update(p Patch) (Dynamic, error) {
	g.dynMu.Lock()
	defer g.dynMu.Unlock()
	old := *g.dyn.Load()
	nd, err := old.apply(p, &g.cfg)
	if err != nil {
		return old, err
	}
	g.dyn.Store(&nd)
	if !nd.equal(old) {
		g.log.Info("gateway config changed", "region", g.cfg.Region,
			"mode", nd.Mode, "failover", nd.Failover, "max_rps", nd.MaxRPS, "max_concurrency", nd.MaxConcurrency,
			"home_overrides", nd.HomeOverrides, "member_try_ms", nd.MemberTryMS, "ignore_geo", nd.IgnoreGeo)
	}
	return nd, nil
}

func newTransport(dialTimeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil, // never an environment proxy: links are explicit
		DialContext:           d.DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   1024,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass bodies through as they are
	}
}

// bufferPool gives ReverseProxy reusable 32 KiB copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

var buffers = &bufferPool{}

// ServeHTTP routes /v1/ user requests and serves the admin API.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		g.serveUser(w, r)
		return
	}
	g.admin.ServeHTTP(w, r)
}

func (g *Gateway) serveUser(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > app.MaxBody {
		g.tooLarge(w)
		return
	}
	start := g.now()
	d := g.dyn.Load()
	if why := g.admit(d, start); why != shedNone {
		g.shed(w, d, why, start)
		return
	}
	defer g.inflight.Add(-1)
	g.count(start, cAccepted)

	home := g.cfg.Region
	if geo := r.Header.Get(app.HeaderGeo); geo != "" && !d.IgnoreGeo {
		if h, ok := d.HomeOverrides[geo]; ok {
			home = h
		} else if h, ok := g.cfg.Homes[geo]; ok {
			home = h
		}
	}

	sw := getStatusWriter(w)
	route, obs := -1, g.metrics.latencyRefused
	defer func() {
		g.finish(start, route, obs, sw.Status)
		putStatusWriter(sw)
	}()

	switch {
	case home == g.cfg.Region:
		route, obs = cLocal, g.metrics.latencyLocal
		g.serveMembers(sw, r, g.localProxy)
	case d.Failover:
		route, obs = cFailover, g.metrics.latencyFailover
		g.serveMembers(sw, r, g.failoverProxy)
	default:
		if hops := hopsOf(r) + 1; hops >= 2 {
			g.refuseLoop(sw, home, hops)
			return
		}
		p := g.peers[home]
		if p == nil { // cannot happen: normalize checks every home region has a peer
			g.plainError(sw, http.StatusBadGateway, "gateway %s: no gateway address for home region %s", g.cfg.Region, home)
			return
		}
		if d.Mode == app.ModeRedirect {
			route, obs = cRedirected, g.metrics.latencyRedirect
			g.redirect(sw, r, p)
		} else {
			route, obs = cProxied, g.metrics.latencyIsthmus
			ctx, cancel := context.WithTimeout(r.Context(), g.cfg.Timeouts.Isthmus)
			defer cancel()
			p.rp.ServeHTTP(sw, r.WithContext(ctx))
		}
	}
}

func hopsOf(r *http.Request) int {
	v := r.Header.Get(app.HeaderHops)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (g *Gateway) shed(w http.ResponseWriter, d *Dynamic, why shedReason, now time.Time) {
	g.count(now, cShed)
	h := w.Header()
	h.Set("Retry-After", "1")
	h.Set(app.HeaderShed, "1")
	h.Set(app.HeaderEntry, g.cfg.Region)
	limit := d.MaxRPS
	if why == shedConcurrency {
		limit = d.MaxConcurrency
	}
	g.plainError(w, http.StatusServiceUnavailable,
		"gateway %s: request shed above the maximum traffic level (%s=%d); retry after 1 s", g.cfg.Region, why, limit)
}

func (g *Gateway) refuseLoop(w http.ResponseWriter, home string, hops int) {
	w.Header().Set(app.HeaderEntry, g.cfg.Region)
	g.plainError(w, http.StatusLoopDetected,
		"gateway %s: loop detected: the request already crossed %d gateway(s) (%s) and is mis-routed here too (home %s per this region's table); the regions' directional tables disagree",
		g.cfg.Region, hops-1, app.HeaderHops, home)
}

func (g *Gateway) redirect(w http.ResponseWriter, r *http.Request, p *peer) {
	loc := p.public + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	h := w.Header()
	h.Set("Location", loc)
	h.Set("Cache-Control", "no-store")
	h.Set(app.HeaderRoute, app.RouteRedirect)
	h.Set(app.HeaderEntry, g.cfg.Region)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTemporaryRedirect)
	_, _ = fmt.Fprintf(w, "mis-routed: home region is %s; retry at %s\n", p.region, loc)
}

func (g *Gateway) plainError(w http.ResponseWriter, status int, format string, a ...any) {
	http.Error(w, fmt.Sprintf(format, a...), status)
}

// statusWriters pools the app.StatusWriter of each user request.
var statusWriters = sync.Pool{New: func() any { return new(app.StatusWriter) }}

func getStatusWriter(w http.ResponseWriter) *app.StatusWriter {
	sw := statusWriters.Get().(*app.StatusWriter)
	sw.ResponseWriter, sw.Status = w, 0
	return sw
}

func putStatusWriter(sw *app.StatusWriter) {
	sw.ResponseWriter = nil
	statusWriters.Put(sw)
}

// ---- members ----

// maxReplayBody is the largest user request body: a member refuses a
// larger one, the gateway does so first.
const maxReplayBody = app.MaxBody

// tooLarge refuses a user request whose body is larger than app.MaxBody.
func (g *Gateway) tooLarge(w http.ResponseWriter) {
	w.Header().Set(app.HeaderEntry, g.cfg.Region)
	w.Header().Set("Connection", "close") // the rest of the body is not read
	g.plainError(w, http.StatusRequestEntityTooLarge, "gateway %s: request body larger than %d bytes", g.cfg.Region, app.MaxBody)
}

func (g *Gateway) serveMembers(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) {
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.Timeouts.Member)
	defer cancel()
	r = r.WithContext(ctx)
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		if !makeReplayable(r) {
			g.tooLarge(w)
			return
		}
	}
	rp.ServeHTTP(w, r)
}

// makeReplayable buffers a request body so that a connection failure can
// be retried on another instance. It reports false, for a 413, when the
// body is larger than maxReplayBody. A body that could not be read is
// passed on as far as it was read, with its error (the member's problem).
func makeReplayable(r *http.Request) bool {
	orig := r.Body
	buf, err := io.ReadAll(io.LimitReader(orig, maxReplayBody+1))
	if len(buf) > maxReplayBody {
		return false
	}
	if err != nil {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), errReader{err}), orig}
		return true
	}
	r.ContentLength = int64(len(buf))
	r.TransferEncoding = nil
	if len(buf) == 0 {
		r.Body = http.NoBody
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(buf))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	return true
}

// errReader fails every read with its error.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (g *Gateway) memberProxy(route string) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			in := g.bal.pick(nil)
			in.requests.Add(1)
			pr.SetURL(in.url)
			pr.SetXForwarded()
		},
		Transport: memberTransport{g},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(app.HeaderRoute, route)
			resp.Header.Set(app.HeaderEntry, g.cfg.Region)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set(app.HeaderRoute, route)
			w.Header().Set(app.HeaderEntry, g.cfg.Region)
			switch r.Context().Err() {
			case context.DeadlineExceeded:
				g.plainError(w, http.StatusGatewayTimeout, "gateway %s: member request timed out after %s: %v",
					g.cfg.Region, g.cfg.Timeouts.Member, err)
			case context.Canceled:
				w.WriteHeader(499) // the client went away (nginx's convention); not a 5xx
			default:
				g.plainError(w, http.StatusBadGateway, "gateway %s: no member instance answered: %v", g.cfg.Region, err)
			}
		},
		BufferPool: buffers,
	}
}

// memberTransport retries a connection failure once on another instance,
// and a read that outlives its try timeout (Dynamic.MemberTryMS).
type memberTransport struct{ g *Gateway }

// errTryTimeout ends a try of a read that had no answer in time.
var errTryTimeout = errors.New("no answer within the try timeout")

func (t memberTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	g := t.g
	if try := g.Dynamic().MemberTryMS; try > 0 && (req.Method == http.MethodGet || req.Method == http.MethodHead) {
		return t.tryRead(req, time.Duration(try)*time.Millisecond)
	}
	resp, err := g.memberRT.RoundTrip(req)
	if err == nil || req.Context().Err() != nil || !isConnFailure(err) {
		return resp, err
	}
	return t.retry(req, err)
}

// tryRead sends a read with a bound on the wait for its answer's headers
// (the body then streams under the member timeout alone). A read with no
// answer by then, or whose connection failed, is sent once to another
// instance.
func (t memberTransport) tryRead(req *http.Request, try time.Duration) (*http.Response, error) {
	g := t.g
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(try, func() { cancel(errTryTimeout) })
	resp, err := g.memberRT.RoundTrip(req.WithContext(ctx))
	if timer.Stop() {
		if err == nil {
			resp.Body = cancelOnClose{resp.Body, cancel}
			return resp, nil
		}
		cancel(nil)
		if req.Context().Err() != nil || !isConnFailure(err) {
			return nil, err
		}
		return t.retry(req, err)
	}
	// The try timed out (if an answer came in the same instant, it is
	// dropped: its context is gone).
	if resp != nil {
		resp.Body.Close()
	}
	cancel(nil)
	if req.Context().Err() != nil {
		return nil, req.Context().Err()
	}
	g.count(g.now(), cTryTimeouts)
	return t.retry(req, fmt.Errorf("%w (%s)", errTryTimeout, try))
}

// cancelOnClose releases a try's context when the body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel(nil)
	return err
}

// retry sends req once to another instance than the one that failed it
// with err.
func (t memberTransport) retry(req *http.Request, err error) (*http.Response, error) {
	g := t.g
	first := g.bal.byHost[req.URL.Host]
	if first == nil {
		return nil, err
	}
	err = fmt.Errorf("instance %s (zone %s): %w", first.Instance, first.Zone, err)
	if isDialFailure(err) {
		g.setHealth(first, false, "connection failure: "+err.Error())
	}
	next := g.bal.pick(first)
	if next == nil {
		return nil, err
	}
	r2 := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, err // body not replayable
		}
		body, gerr := req.GetBody()
		if gerr != nil {
			return nil, err
		}
		r2.Body = body
	}
	r2.URL.Scheme, r2.URL.Host, r2.Host = next.url.Scheme, next.url.Host, ""
	next.requests.Add(1)
	g.count(g.now(), cRetries)
	resp, err2 := g.memberRT.RoundTrip(r2)
	if err2 != nil {
		if isDialFailure(err2) && req.Context().Err() == nil {
			g.setHealth(next, false, "connection failure: "+err2.Error())
		}
		return nil, fmt.Errorf("%w; retried once on instance %s (zone %s): %w", err, next.Instance, next.Zone, err2)
	}
	return resp, nil
}

// isDialFailure: no connection could be made (refused, unreachable, dial timeout).
func isDialFailure(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// isConnFailure: the connection failed before any response arrived.
// Timeouts of the request itself are not connection failures.
func isConnFailure(err error) bool {
	if isDialFailure(err) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// ---- isthmus ----

func (g *Gateway) isthmusProxy(p *peer) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(p.proxyURL)
			pr.SetXForwarded()
			pr.Out.Header.Set(app.HeaderHops, strconv.Itoa(hopsOf(pr.In)+1))
			pr.Out.Header.Set(app.HeaderEntry, g.cfg.Region)
		},
		Transport: g.peerRT,
		ModifyResponse: func(resp *http.Response) error {
			// Outer route first, then the home gateway's own route value(s).
			inner := resp.Header[routeKey]
			resp.Header[routeKey] = append([]string{app.RouteIsthmus}, inner...)
			resp.Header.Set(app.HeaderEntry, g.cfg.Region)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set(app.HeaderRoute, app.RouteIsthmus)
			w.Header().Set(app.HeaderEntry, g.cfg.Region)
			switch r.Context().Err() {
			case context.DeadlineExceeded:
				g.plainError(w, http.StatusGatewayTimeout,
					"gateway %s: isthmus to home region %s: peer gateway %s did not answer within %s",
					g.cfg.Region, p.region, p.proxyURL, g.cfg.Timeouts.Isthmus)
			case context.Canceled:
				w.WriteHeader(499)
			default:
				g.plainError(w, http.StatusBadGateway,
					"gateway %s: isthmus to home region %s failed: peer gateway %s unreachable: %v",
					g.cfg.Region, p.region, p.proxyURL, err)
			}
		},
		BufferPool: buffers,
	}
}
