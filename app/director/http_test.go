package director

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
)

type reply struct {
	status int
	body   string
	header http.Header
}

func call(t *testing.T, h http.Handler, method, target, body string, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json") // as every client of the admin API does
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return reply{rec.Code, rec.Body.String(), rec.Header()}
}

// requireError checks a JSON error answer.
func requireError(t *testing.T, r reply, status int, contains string) {
	t.Helper()
	require.Equal(t, status, r.status, r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	var e ErrorResponse
	require.NoError(t, json.Unmarshal([]byte(r.body), &e), r.body)
	assert.Contains(t, e.Error, contains)
}

func TestHTTPRoute(t *testing.T) {
	d := mustNew(t, twoRegions())
	h := d.Handler(nil)

	r := call(t, h, "GET", "/v1/route?geo=us-east-1&key=session-1", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.JSONEq(t, `{"geo":"us-east-1","region":"us-east-1","gateway":"http://127.101.1.1:8000"}`, r.body)

	// Geo and key from the protocol headers.
	r = call(t, h, "GET", "/v1/route", "", app.HeaderGeo, west, app.HeaderSession, "s")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"geo":"us-west-2","region":"us-west-2","gateway":"http://127.101.2.1:8000"}`, r.body)

	// Same key, same answer; no key, still an answer.
	mustChange(t)(d.SetWeights(east, map[string]float64{east: 1, west: 1}))
	first := call(t, h, "GET", "/v1/route?geo=us-east-1&key=abc", "").body
	for range 10 {
		assert.Equal(t, first, call(t, h, "GET", "/v1/route?geo=us-east-1&key=abc", "").body)
	}
	seen := map[string]bool{}
	for range 200 {
		var rr RouteResponse
		require.NoError(t, json.Unmarshal([]byte(call(t, h, "GET", "/v1/route?geo=us-east-1", "").body), &rr))
		seen[rr.Region] = true
	}
	assert.Equal(t, map[string]bool{east: true, west: true}, seen, "keyless clients follow the distribution")

	requireError(t, call(t, h, "GET", "/v1/route?key=k", ""), 400,
		"missing geo: pass ?geo=<geo> (known geos: us-east-1, us-west-2)")
	requireError(t, call(t, h, "GET", "/v1/route?geo=mars&key=k", ""), 400,
		`unknown geo "mars" (known geos: us-east-1, us-west-2)`)

	r = call(t, h, "POST", "/v1/route?geo=us-east-1", "")
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
}

func TestHTTPTable(t *testing.T) {
	d := mustNew(t, twoRegions())
	h := d.Handler(nil)
	r := call(t, h, "GET", "/admin/table", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{
		"regions": ["us-east-1", "us-west-2"],
		"geos": ["us-east-1", "us-west-2"],
		"home": {"us-east-1": "us-east-1", "us-west-2": "us-west-2"},
		"gateway": {"us-east-1": "http://127.101.1.1:8000", "us-west-2": "http://127.101.2.1:8000"},
		"capacity": {"us-east-1": 1, "us-west-2": 1},
		"load": {"us-east-1": 0.5, "us-west-2": 0.5},
		"weights": {"us-east-1": {"us-east-1": 1, "us-west-2": 0}, "us-west-2": {"us-east-1": 0, "us-west-2": 1}},
		"overrides": {},
		"evacuated": {"us-east-1": 0, "us-west-2": 0},
		"effective": {"us-east-1": {"us-east-1": 1, "us-west-2": 0}, "us-west-2": {"us-east-1": 0, "us-west-2": 1}},
		"traffic": {"us-east-1": 0.5, "us-west-2": 0.5}
	}`, r.body)

	mustChange(t)(d.SetOverride(west, east))
	mustChange(t)(d.Evacuate(west, 0.5))
	var tb Table
	require.NoError(t, json.Unmarshal([]byte(call(t, h, "GET", "/admin/table", "").body), &tb))
	assert.Equal(t, d.Table(), tb)
	assert.Equal(t, map[string]string{west: east}, tb.Overrides)
	assert.Equal(t, 0.5, tb.Evacuated[west])
}

func TestHTTPWeights(t *testing.T) {
	d := mustNew(t, twoRegions())
	h := d.Handler(nil)
	r := call(t, h, "PUT", "/admin/weights", `{"geo": "us-east-1", "weights": {"us-east-1": 70, "us-west-2": 30}}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{
		"seq": 1,
		"time": "2026-01-02T02:04:07Z",
		"kind": "weights",
		"target": "us-east-1",
		"description": "weights of geo us-east-1: us-east-1 70%, us-west-2 30%",
		"effective": {"us-east-1": {"us-east-1": 0.7, "us-west-2": 0.3}, "us-west-2": {"us-east-1": 0, "us-west-2": 1}},
		"traffic": {"us-east-1": 0.35, "us-west-2": 0.65}
	}`, r.body)
	assert.Equal(t, map[string]float64{east: 0.7, west: 0.3}, d.Table().Weights[east])

	for _, tc := range []struct{ body, want string }{
		{``, `empty body: send {"geo": "...", "weights": {"<region>": <weight>, ...}}`},
		{`{"geo": "us-east-1", "wieghts": {}}`, `json: unknown field "wieghts"`},
		{`{"geo": "us-east-1", "weights": {"us-east-1": "a lot"}}`, "bad body"},
		{`{"geo": "us-east-1", "weights": {"us-east-1": 1}} {}`, "unexpected data after the JSON object"},
		{`{"weights": {"us-east-1": 1}}`, "unknown geo: no geo given (known geos: us-east-1, us-west-2)"},
		{`{"geo": "mars", "weights": {"us-east-1": 1}}`, `unknown geo "mars"`},
		{`{"geo": "us-east-1"}`, `no weights given for geo "us-east-1"`},
		{`{"geo": "us-east-1", "weights": {"eu-west-1": 1}}`, `unknown region "eu-west-1" (known regions: us-east-1, us-west-2)`},
		{`{"geo": "us-east-1", "weights": {"us-east-1": -3}}`, `weight -3 for region "us-east-1": it must be a number >= 0`},
		{`{"geo": "us-east-1", "weights": {"us-east-1": 0}}`, `weights for geo "us-east-1" sum to 0`},
	} {
		requireError(t, call(t, h, "PUT", "/admin/weights", tc.body), 400, tc.want)
	}
	assert.Len(t, d.Changes(), 2, "refused requests change nothing")
}

func TestHTTPOverride(t *testing.T) {
	d := mustNew(t, twoRegions())
	h := d.Handler(nil)
	r := call(t, h, "PUT", "/admin/override", `{"geo": "us-east-1", "region": "us-west-2"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	var c Change
	require.NoError(t, json.Unmarshal([]byte(r.body), &c))
	assert.Equal(t, ChangeOverride, c.Kind)
	assert.Equal(t, map[string]float64{east: 0, west: 1}, c.Effective[east])
	assert.JSONEq(t, `{"geo":"us-east-1","region":"us-west-2","gateway":"http://127.101.2.1:8000"}`,
		call(t, h, "GET", "/v1/route?geo=us-east-1&key=k", "").body)

	requireError(t, call(t, h, "PUT", "/admin/override", `{"geo": "us-east-1", "region": "mars"}`), 400, `unknown region "mars"`)
	requireError(t, call(t, h, "PUT", "/admin/override", `{"geo": "mars", "region": "us-east-1"}`), 400, `unknown geo "mars"`)
	requireError(t, call(t, h, "PUT", "/admin/override", `{"geo": "us-east-1"}`), 400, "unknown region: no region given")

	r = call(t, h, "DELETE", "/admin/override?geo=us-east-1", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.NoError(t, json.Unmarshal([]byte(r.body), &c))
	assert.Equal(t, ChangeClearOverride, c.Kind)
	assert.Equal(t, "clear override of geo us-east-1 (was us-west-2)", c.Description)
	assert.Equal(t, map[string]float64{east: 1, west: 0}, c.Effective[east])

	requireError(t, call(t, h, "DELETE", "/admin/override", ""), 400, "missing geo")
	requireError(t, call(t, h, "DELETE", "/admin/override?geo=mars", ""), 400, `unknown geo "mars"`)
}

func TestHTTPEvacuateAndRestore(t *testing.T) {
	d := mustNew(t, global())
	h := d.Handler(nil)
	var c Change
	for _, f := range []string{"0.25", "0.5", "1.0"} {
		r := call(t, h, "POST", "/admin/evacuate", `{"region": "us-east-1", "fraction": `+f+`}`)
		require.Equal(t, http.StatusOK, r.status, r.body)
		require.NoError(t, json.Unmarshal([]byte(r.body), &c))
		assert.Equal(t, ChangeEvacuate, c.Kind)
		assert.Equal(t, east, c.Target)
	}
	assert.Equal(t, "evacuate us-east-1: 50% -> 100%", c.Description)
	assert.Equal(t, map[string]float64{east: 0, west: 0.75, eu: 0.25}, c.Effective[east])

	requireError(t, call(t, h, "POST", "/admin/evacuate", `{"region": "us-east-1", "fraction": 1.5}`), 400,
		`fraction 1.5 for region "us-east-1": it must be in [0,1]`)
	requireError(t, call(t, h, "POST", "/admin/evacuate", `{"region": "us-east-1"}`), 400, "missing fraction")
	requireError(t, call(t, h, "POST", "/admin/evacuate", `{"fraction": 1}`), 400, "no region given (known regions: us-east-1, us-west-2, eu-west-1)")
	requireError(t, call(t, h, "POST", "/admin/evacuate", `{"region": "mars", "fraction": 1}`), 400, `unknown region "mars"`)
	requireError(t, call(t, h, "POST", "/admin/evacuate", `{"region": "us-east-1", "fraction": 1`), 400, "bad body")
	require.Equal(t, http.StatusOK, call(t, h, "POST", "/admin/evacuate", `{"region": "us-west-2", "fraction": 1}`).status)
	requireError(t, call(t, h, "POST", "/admin/evacuate", `{"region": "eu-west-1", "fraction": 1}`), 409,
		"cannot evacuate eu-west-1 fully, every other region is fully evacuated")

	r := call(t, h, "POST", "/admin/restore", `{"region": "us-west-2"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.NoError(t, json.Unmarshal([]byte(r.body), &c))
	assert.Equal(t, "restore us-west-2 (was 100% evacuated)", c.Description)
	assert.Equal(t, 1.0, d.Table().Evacuated[east])

	requireError(t, call(t, h, "POST", "/admin/restore", `{"region": "mars"}`), 400, `unknown region "mars"`)

	// No body restores everything.
	r = call(t, h, "POST", "/admin/restore", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.NoError(t, json.Unmarshal([]byte(r.body), &c))
	assert.Equal(t, "restore every region (us-east-1 was 100%)", c.Description)
	assert.Equal(t, map[string]float64{east: 1, west: 0, eu: 0}, c.Effective[east])
	r = call(t, h, "POST", "/admin/restore", "{}")
	require.Equal(t, http.StatusOK, r.status, r.body)
}

func TestHTTPBounce(t *testing.T) {
	d := mustNew(t, twoRegions())
	h := d.Handler(nil)
	r := call(t, h, "PUT", "/admin/bounce", `{"bounce": true}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	var c Change
	require.NoError(t, json.Unmarshal([]byte(r.body), &c))
	assert.Equal(t, ChangeBounce, c.Kind)
	assert.Contains(t, call(t, h, "GET", "/admin/table", "").body, `"bounce":true`)
	regions := map[string]int{}
	for range 4 {
		var rr RouteResponse
		require.NoError(t, json.Unmarshal([]byte(call(t, h, "GET", "/v1/route", "", app.HeaderGeo, east, app.HeaderSession, "s").body), &rr))
		regions[rr.Region]++
	}
	assert.Equal(t, map[string]int{east: 2, west: 2}, regions, "the session bounced between the regions")

	requireError(t, call(t, h, "PUT", "/admin/bounce", `{}`), 400, "missing bounce")
	requireError(t, call(t, h, "PUT", "/admin/bounce", `{"bounce": "yes"}`), 400, "bad body")
	r = call(t, h, "PUT", "/admin/bounce", `{"bounce": false}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.NotContains(t, call(t, h, "GET", "/admin/table", "").body, "bounce", "off, the table is as it was")
}

func TestHTTPChanges(t *testing.T) {
	d := mustNew(t, twoRegions())
	h := d.Handler(nil)
	call(t, h, "POST", "/admin/evacuate", `{"region": "us-east-1", "fraction": 0.5}`)
	call(t, h, "POST", "/admin/restore", "")

	r := call(t, h, "GET", "/admin/changes", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"changes": [
		{"seq": 0, "time": "2026-01-02T02:04:06Z", "kind": "start",
		 "description": "start: every geo to its home region",
		 "effective": {"us-east-1": {"us-east-1": 1, "us-west-2": 0}, "us-west-2": {"us-east-1": 0, "us-west-2": 1}},
		 "traffic": {"us-east-1": 0.5, "us-west-2": 0.5}},
		{"seq": 1, "time": "2026-01-02T02:04:07Z", "kind": "evacuate", "target": "us-east-1",
		 "description": "evacuate us-east-1: 0% -> 50%",
		 "effective": {"us-east-1": {"us-east-1": 0.5, "us-west-2": 0.5}, "us-west-2": {"us-east-1": 0, "us-west-2": 1}},
		 "traffic": {"us-east-1": 0.25, "us-west-2": 0.75}},
		{"seq": 2, "time": "2026-01-02T02:04:08Z", "kind": "restore",
		 "description": "restore every region (us-east-1 was 50%)",
		 "effective": {"us-east-1": {"us-east-1": 1, "us-west-2": 0}, "us-west-2": {"us-east-1": 0, "us-west-2": 1}},
		 "traffic": {"us-east-1": 0.5, "us-west-2": 0.5}}
	], "dropped": 0}`, r.body)

	var cr ChangesResponse
	require.NoError(t, json.Unmarshal([]byte(call(t, h, "GET", "/admin/changes?since=1", "").body), &cr))
	require.Len(t, cr.Changes, 1)
	assert.Equal(t, 2, cr.Changes[0].Seq)
	assert.JSONEq(t, `{"changes": [], "dropped": 0}`, call(t, h, "GET", "/admin/changes?since=2", "").body)
	requireError(t, call(t, h, "GET", "/admin/changes?since=yesterday", ""), 400, `since="yesterday"`)
}

func TestHTTPHealthAndMetrics(t *testing.T) {
	d := mustNew(t, twoRegions())
	h := d.Handler(nil)
	r := call(t, h, "GET", "/healthz", "")
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "ok", r.body)

	for range 3 {
		call(t, h, "GET", "/v1/route?geo=us-east-1&key=k", "")
	}
	call(t, h, "POST", "/admin/evacuate", `{"region": "us-west-2", "fraction": 1}`)
	call(t, h, "GET", "/v1/route?geo=us-west-2&key=k", "")
	r = call(t, h, "GET", "/metrics", "")
	require.Equal(t, http.StatusOK, r.status)
	for _, line := range []string{
		`kong_director_routes_total{geo="us-east-1",region="us-east-1"} 3`,
		`kong_director_routes_total{geo="us-west-2",region="us-east-1"} 1`,
		`kong_director_effective_share{geo="us-west-2",region="us-east-1"} 1`,
		`kong_director_evacuated_fraction{region="us-west-2"} 1`,
		`kong_director_changes_total 2`,
	} {
		assert.Contains(t, r.body, line+"\n")
	}
}

func TestServe(t *testing.T) {
	d := mustNew(t, twoRegions())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, ln, nil) }()

	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/v1/route?geo=us-west-2&key=k")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"geo":"us-west-2","region":"us-west-2","gateway":"http://127.101.2.1:8000"}`, string(body))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return 10 s after its context ended")
	}
	_, err = http.Get(base + "/healthz")
	assert.Error(t, err, "the listener is closed")
}

func TestServeErrors(t *testing.T) {
	ctx := context.Background()
	err := Serve(ctx, "127.0.0.1:0", Config{}, nil)
	require.ErrorIs(t, err, ErrConfig)
	assert.Contains(t, err.Error(), "no regions")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = Serve(ctx, ln.Addr().String(), twoRegions(), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "listen on "+ln.Addr().String())
}

func TestAdminClientSteersTheDirector(t *testing.T) {
	d := mustNew(t, twoRegions())
	srv := httptest.NewServer(app.GuardAdmin("s3cret", d.Handler(nil)))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c := NewAdminClient(srv.URL, "s3cret")

	r, err := c.Route(ctx, east, "session 1")
	require.NoError(t, err)
	require.Equal(t, RouteResponse{Geo: east, Region: east, Gateway: "http://127.101.1.1:8000"}, r)

	mustChange(t)(c.Evacuate(ctx, east, 0.5))
	mustChange(t)(c.SetOverride(ctx, west, east))
	tb, err := c.Table(ctx)
	require.NoError(t, err)
	require.Equal(t, d.Table(), tb)
	require.Equal(t, 0.5, tb.Evacuated[east])
	require.Equal(t, map[string]string{west: east}, tb.Overrides)

	mustChange(t)(c.Restore(ctx, east))
	mustChange(t)(c.ClearOverride(ctx, west))
	mustChange(t)(c.SetWeights(ctx, east, map[string]float64{east: 1, west: 1}))
	tb, err = c.Table(ctx)
	require.NoError(t, err)
	require.Equal(t, 0.0, tb.Evacuated[east])
	require.Empty(t, tb.Overrides)
	require.Equal(t, map[string]float64{east: 0.5, west: 0.5}, tb.Weights[east])

	mustChange(t)(c.SetBounce(ctx, true))
	tb, err = c.Table(ctx)
	require.NoError(t, err)
	require.True(t, tb.Bounce)
	mustChange(t)(c.SetBounce(ctx, false))
	tb, err = c.Table(ctx)
	require.NoError(t, err)
	require.False(t, tb.Bounce)

	_, err = NewAdminClient(srv.URL, "").Table(ctx)
	require.ErrorContains(t, err, "401")
	_, err = c.Evacuate(ctx, "mars", 1)
	require.ErrorContains(t, err, "400 Bad Request")
}

// The bodies the admin client sends are byte for byte those kong sent
// before it had a typed client.
func TestAdminClientBodies(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, r.Method+" "+r.URL.RequestURI()+" "+string(b))
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c := NewAdminClient(srv.URL, "")
	mustChange(t)(c.Evacuate(ctx, east, 0.25))
	mustChange(t)(c.Restore(ctx, east))
	mustChange(t)(c.SetOverride(ctx, west, east))
	mustChange(t)(c.ClearOverride(ctx, west))
	mustChange(t)(c.SetBounce(ctx, true))
	require.Equal(t, []string{
		`POST /admin/evacuate {"fraction":0.25,"region":"us-east-1"}`,
		`POST /admin/restore {"region":"us-east-1"}`,
		`PUT /admin/override {"geo":"us-west-2","region":"us-east-1"}`,
		`DELETE /admin/override?geo=us-west-2 `,
		`PUT /admin/bounce {"bounce":true}`,
	}, bodies)
}

func TestHTTPCapacity(t *testing.T) {
	d := mustNew(t, global())
	h := d.Handler(nil)
	r := call(t, h, "PUT", "/admin/capacity", `{"region": "eu-west-1", "capacity": 300}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	var c Change
	require.NoError(t, json.Unmarshal([]byte(r.body), &c))
	assert.Equal(t, ChangeCapacity, c.Kind)
	assert.Contains(t, call(t, h, "GET", "/admin/table", "").body, `"eu-west-1":300`)

	requireError(t, call(t, h, "PUT", "/admin/capacity", `{"region": "eu-west-1"}`), 400, "missing capacity")
	requireError(t, call(t, h, "PUT", "/admin/capacity", `{"region": "eu-west-1", "capacity": 0}`), 400, "must be a number > 0")
	requireError(t, call(t, h, "PUT", "/admin/capacity", `{"region": "mars", "capacity": 10}`), 400, `unknown region "mars"`)
}
