package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
)

// offlineGateway is a gateway of east whose member and peer addresses
// answer nothing: for its admin API only.
func offlineGateway(t testing.TB) *Gateway {
	t.Helper()
	g, err := New(Config{Region: east, Members: []Member{{Zone: "a", Instance: "e1", BaseURL: "http://127.0.0.1:9"}},
		PeerProxy: map[string]string{west: "http://127.0.0.1:19"}, Homes: homes})
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func putAdmin(h http.Handler, ctype string, body io.Reader) (int, string) {
	req := httptest.NewRequest(http.MethodPut, "/admin/config", body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// chunked is a body of unknown length (sent chunked).
type chunked struct{ io.Reader }

func TestAdminConfigRefusesHostileInput(t *testing.T) {
	g := offlineGateway(t)
	initial := g.Dynamic()
	const form = "application/x-www-form-urlencoded"
	cases := []struct {
		name, ctype, body string
		status            int
		reason            string
	}{
		{"form post", form, "failover=true", 415, "application/json"},
		{"form post of JSON", form, `{"failover": true}`, 415, "application/json"},
		{"text/plain", "text/plain", `{"failover": true}`, 415, "application/json"},
		{"no type", "", `{"failover": true}`, 415, "no Content-Type"},
		{"huge body", "application/json", `{"home_overrides": {"` + strings.Repeat("g", 70<<10) + `": "us-west-2"}}`, 413, "64 KiB"},
		{"override to an unknown region", "application/json", `{"home_overrides": {"CA": "mars-1"}}`, 400,
			`home_overrides[CA] = "mars-1": not this region (us-east-1) nor one with a gateway address (us-west-2)`},
		{"override of a too long geo", "application/json", `{"home_overrides": {"` + strings.Repeat("g", 129) + `": "us-west-2"}}`, 400, "at most 128 bytes"},
		{"override of an empty geo", "application/json", `{"home_overrides": {"": "us-west-2"}}`, 400, "empty geo or region"},
		{"try timeout above the member timeout", "application/json", `{"member_try_ms": 2001}`, 400, "member_try_ms must be in 0..2000"},
		{"try timeout overflowing a duration", "application/json", `{"member_try_ms": 9223372036854775807}`, 400, "member_try_ms must be in 0..2000"},
		{"max_rps above the limit", "application/json", `{"max_rps": 1000000001}`, 400, "max_rps must be in 0..1000000000"},
		{"max_concurrency above the limit", "application/json", `{"max_concurrency": 9223372036854775807}`, 400, "max_concurrency must be in 0..1000000000"},
		{"bad JSON", "application/json", `{"mode": `, 400, "invalid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := putAdmin(g, c.ctype, strings.NewReader(c.body))
			require.Equal(t, c.status, status, body)
			var e apiError
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.Contains(t, e.Error, c.reason)
		})
	}
	// A huge body of unknown length is refused too.
	status, body := putAdmin(g, "application/json", chunked{strings.NewReader(`{"mode": "` + strings.Repeat("x", 70<<10) + `"}`)})
	assert.Equal(t, http.StatusRequestEntityTooLarge, status, body)
	assert.Equal(t, initial, g.Dynamic(), "a refused update changed the configuration")

	// Good values still pass: overrides to this region and to a peer.
	status, body = putAdmin(g, "application/json; charset=utf-8", strings.NewReader(
		`{"home_overrides": {"CA": "us-east-1", "NY": "us-west-2"}, "member_try_ms": 2000, "max_rps": 1000000000}`))
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, map[string]string{"CA": east, "NY": west}, g.Dynamic().HomeOverrides)
}

func TestUserBodyAboveTheLimitIsRefusedAtTheEdge(t *testing.T) {
	_, _, es, _, em, _ := twoRegions(t, Config{}, Config{})
	big := bytes.Repeat([]byte("x"), app.MaxBody+1)

	// Known length.
	r := do(t, http.MethodPut, es.URL+"/v1/members/m1/profile", "NY", string(big), "Content-Type", "application/json")
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.status, r.body)
	assert.Contains(t, r.body, "larger than 1048576 bytes")

	// Unknown length (chunked).
	req, err := http.NewRequest(http.MethodPost, es.URL+"/v1/members/m1/history", chunked{bytes.NewReader(big)})
	require.NoError(t, err)
	req.Header.Set(app.HeaderGeo, "NY")
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.Zero(t, em.hits.Load(), "a body above the limit reached a member")

	// A body at the limit passes.
	r = do(t, http.MethodPut, es.URL+"/v1/members/m1/profile", "NY", string(big[:app.MaxBody]), "Content-Type", "application/json")
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, int64(1), em.hits.Load())
}

func TestServerWriteTimeoutCoversTheOutboundCalls(t *testing.T) {
	c, err := Config{Region: east, Members: []Member{{Zone: "a", Instance: "e1", BaseURL: "http://127.0.0.1:9"}},
		Timeouts: Timeouts{Member: 7e9, Isthmus: 9e9}}.normalize()
	require.NoError(t, err)
	assert.Greater(t, c.writeTimeout(), c.Timeouts.Isthmus)
	assert.Greater(t, c.writeTimeout(), c.Timeouts.Member)
}

// FuzzAdminConfig: PUT /admin/config never panics; it is answered 200 with
// a valid configuration, or 4xx with the reason and nothing changed.
func FuzzAdminConfig(f *testing.F) {
	f.Add("application/json", `{"mode": "redirect", "failover": true}`)
	f.Add("application/json", `{"max_rps": 100, "max_concurrency": 10}`)
	f.Add("application/json", `{"home_overrides": {"CA": "us-east-1"}, "member_try_ms": 250}`)
	f.Add("application/json", `{"home_overrides": {"CA": "nowhere"}}`)
	f.Add("application/json", `{"home_overrides": {}}`)
	f.Add("application/json", `{"member_try_ms": 1e3}`)
	f.Add("application/x-www-form-urlencoded", `mode=redirect`)
	f.Add("", ``)
	g := offlineGateway(f)
	initial := g.Dynamic()
	f.Fuzz(func(t *testing.T, ctype, body string) {
		defer g.dyn.Store(&initial)
		status, answer := putAdmin(g, ctype, strings.NewReader(body))
		d := g.Dynamic()
		if status != http.StatusOK {
			require.Contains(t, []int{400, 413, 415}, status, answer)
			var e apiError
			require.NoError(t, json.Unmarshal([]byte(answer), &e), answer)
			require.NotEmpty(t, e.Error)
			require.Equal(t, initial, d, "a refused update changed the configuration")
			return
		}
		var view ConfigView
		require.NoError(t, json.Unmarshal([]byte(answer), &view), answer)
		require.Equal(t, d, view.Dynamic)
		require.NoError(t, validMode(d.Mode))
		require.NoError(t, validLevel("max_rps", d.MaxRPS))
		require.NoError(t, validLevel("max_concurrency", d.MaxConcurrency))
		require.True(t, d.MemberTryMS >= 0 && int64(d.MemberTryMS) <= g.cfg.Timeouts.Member.Milliseconds(), d.MemberTryMS)
		for geo, region := range d.HomeOverrides {
			require.NotEmpty(t, geo)
			require.True(t, region == east || region == west, "override %s -> %q", geo, region)
		}
		if d.MaxRPS > 0 {
			require.Positive(t, view.Burst)
		}
	})
}
