package gateway

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kongchaos/kong/app"
	"github.com/stretchr/testify/require"
)

const (
	east = "us-east-1"
	west = "us-west-2"
)

// homes is the directional table shared by both regions in most tests.
var homes = map[string]string{"NY": east, "CA": west}

// stub is a member service instance: it says who it is in the response
// headers and counts requests and their concurrency.
type stub struct {
	region, zone, inst string
	srv                *httptest.Server
	delay              time.Duration

	hits   atomic.Int64 // /v1 requests
	cur    atomic.Int64
	peak   atomic.Int64
	status atomic.Int32 // answer to /v1 requests
	health atomic.Int32 // answer to /healthz

	mu   sync.Mutex
	last http.Header // headers of the last /v1 request
}

func newStub(t testing.TB, region, zone, inst string, delay time.Duration) *stub {
	s := &stub{region: region, zone: zone, inst: inst, delay: delay}
	s.status.Store(http.StatusOK)
	s.health.Store(http.StatusOK)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stub) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.WriteHeader(int(s.health.Load()))
		return
	}
	s.hits.Add(1)
	n := s.cur.Add(1)
	defer s.cur.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	s.mu.Lock()
	s.last = r.Header.Clone()
	s.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-r.Context().Done():
		}
	}
	h := w.Header()
	h.Set(app.HeaderRegion, s.region)
	h.Set(app.HeaderZone, s.zone)
	h.Set(app.HeaderInstance, s.inst)
	h.Set(app.HeaderVersion, "1700000000000000")
	h.Set(app.HeaderCache, "miss")
	w.WriteHeader(int(s.status.Load()))
	_, _ = fmt.Fprintf(w, "%s %s %s %s", s.inst, r.Method, r.URL.RequestURI(), body)
}

func (s *stub) lastHeader(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return ""
	}
	return s.last.Get(name)
}

func (s *stub) member() Member {
	return Member{Zone: s.zone, Instance: s.inst, BaseURL: s.srv.URL}
}

func members(stubs ...*stub) []Member {
	out := make([]Member, len(stubs))
	for i, s := range stubs {
		out[i] = s.member()
	}
	return out
}

// lateServer is an httptest server whose handler is set after it starts, so
// that two gateways can know each other's URL.
type lateServer struct {
	*httptest.Server
	h atomic.Pointer[http.Handler]
}

func newLateServer(t testing.TB) *lateServer {
	ls := &lateServer{}
	ls.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := ls.h.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(ls.Close)
	return ls
}

func (ls *lateServer) serve(h http.Handler) { ls.h.Store(&h) }

// newGW starts a gateway behind an httptest server.
func newGW(t testing.TB, cfg Config) (*Gateway, *httptest.Server) {
	t.Helper()
	gw, err := New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(gw)
	t.Cleanup(func() {
		srv.Close()
		_ = gw.Close()
	})
	return gw, srv
}

// gwOn runs a gateway on a lateServer.
func gwOn(t testing.TB, ls *lateServer, cfg Config) *Gateway {
	t.Helper()
	gw, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = gw.Close() })
	ls.serve(gw)
	return gw
}

var client = &http.Client{
	Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Timeout: 20 * time.Second,
}

type result struct {
	status int
	header http.Header
	body   string
}

func do(t testing.TB, method, url, geo string, body string, hdr ...string) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if geo != "" {
		req.Header.Set(app.HeaderGeo, geo)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return result{resp.StatusCode, resp.Header, string(b)}
}

func get(t testing.TB, url, geo string, hdr ...string) result {
	t.Helper()
	return do(t, http.MethodGet, url, geo, "", hdr...)
}

// deadURL is an address where nothing listens.
func deadURL(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	return u
}

// waitChecked waits until every instance had at least n health checks.
func waitChecked(t testing.TB, gw *Gateway, n int64) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, m := range gw.Members() {
			if m.Checks < n {
				return false
			}
		}
		return true
	}, 5*time.Second, 5*time.Millisecond)
}

func healthOf(gw *Gateway, inst string) bool {
	for _, m := range gw.Members() {
		if m.Instance == inst {
			return m.Healthy
		}
	}
	return false
}
