package member

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReleaseBeside(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config.json")

	var c Config
	require.NoError(t, c.Beside(config))
	assert.Equal(t, Release{Version: BaseVersion}, c.Release, "no release deployed: the base version")
	assert.Equal(t, filepath.Join(dir, "outbox"), c.OutboxDir)

	want := Release{Version: "v2-errors", Defects: Faults{ErrorRate: 0.3}}
	require.NoError(t, WriteReleaseBeside(config, want))
	c = Config{}
	require.NoError(t, c.Beside(config))
	assert.Equal(t, want, c.Release)

	// A configuration that names its release keeps it.
	c = Config{Release: Release{Version: "v9"}}
	require.NoError(t, c.Beside(config))
	assert.Equal(t, "v9", c.Release.Version)

	for _, bad := range []struct{ body, want string }{
		{`{"version": "v2", "defects": {"error_rate": 3}}`, "release v2: defects: error_rate 3 is not in 0..1"},
		{`{"version": ""}`, "version is empty"},
		{`{"version": "v2/../x"}`, `character '/'`},
		{`{"version": `, "unexpected end of JSON input"},
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ReleaseFile), []byte(bad.body), 0o644))
		c = Config{}
		assert.ErrorContains(t, c.Beside(config), bad.want, bad.body)
	}
	assert.ErrorContains(t, WriteReleaseBeside(config, Release{Version: "v3", Defects: Faults{LatencyMS: -5}}), "latency_ms -5")
}

func TestFaultsWith(t *testing.T) {
	defects := Faults{ErrorRate: 0.5, LatencyMS: 100, DropWriteRate: 0.1, CacheOneZone: true, ReadConsistency: "LOCAL_ONE"}
	assert.Equal(t, defects, defects.With(Faults{}), "no run-time fault leaves the defects as they are")
	assert.Equal(t, defects, Faults{}.With(defects))

	got := defects.With(Faults{ErrorRate: 0.5, LatencyMS: 50, SlowRate: 0.2, SlowMS: 900, ReadConsistency: "ONE", NoInvalidations: true})
	assert.Equal(t, Faults{
		ErrorRate: 0.75, LatencyMS: 150, SlowRate: 0.2, SlowMS: 900, ReadConsistency: "ONE",
		DropWriteRate: 0.1, CacheOneZone: true, NoInvalidations: true,
	}, got)
	assert.Equal(t, MaxFaultMS, Faults{LatencyMS: MaxFaultMS}.With(Faults{LatencyMS: 1}).LatencyMS)
}

// A release's defects stay in force when the run-time faults are cleared
// (a preflight's reset), and the admin API shows only what it set.
func TestDefectsOutliveAFaultReset(t *testing.T) {
	s := offline(t)
	s.cfg.Release = Release{Version: "v2-errors", Defects: Faults{ErrorRate: 1}}
	s.setFaults(Faults{})
	h := s.Handler()

	a := serve(h, "PUT", "/admin/faults", jsonType, `{"latency_ms": 1}`)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.JSONEq(t, `{"error_rate": 0, "latency_ms": 1}`, serve(h, "GET", "/admin/faults", "", "").body)
	require.Equal(t, http.StatusOK, serve(h, "PUT", "/admin/faults", jsonType, `{}`).status)
	assert.JSONEq(t, `{"error_rate": 0, "latency_ms": 0}`, serve(h, "GET", "/admin/faults", "", "").body)

	got := serve(h, "GET", "/v1/members/m1/profile", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, got.status, "the release's error rate of 1 is still in force")
	assert.Contains(t, got.body, "injected dependency error")

	var stats StatsReport
	require.NoError(t, json.Unmarshal([]byte(serve(h, "GET", "/admin/stats", "", "").body), &stats))
	assert.Equal(t, "v2-errors", stats.Version)
}

func TestWrongMemberAnswersAnotherMembersProfile(t *testing.T) {
	s := offline(t)
	s.setFaults(Faults{WrongMemberRate: 1})
	// The offline service has no cache or Cassandra: the answer can only
	// come from the profile it served last.
	s.lastProfile.Store(&Profile{Member: "m2", Name: "Grace", Plan: "premium", Version: 42})
	got := serve(s.Handler(), "GET", "/v1/members/m1/profile", "", "")
	require.Equal(t, http.StatusOK, got.status, got.body)
	var p Profile
	require.NoError(t, json.Unmarshal([]byte(got.body), &p))
	assert.Equal(t, Profile{Member: "m2", Name: "Grace", Plan: "premium", Version: 42}, p)
}

func TestRequestsAreKeptForTheCanary(t *testing.T) {
	s := offline(t)
	h := s.Handler()
	before := time.Now()
	assert.Equal(t, http.StatusBadRequest, serve(h, "GET", "/v1/members/bad%20id/profile", "", "").status)
	s.setFaults(Faults{ErrorRate: 1})
	assert.Equal(t, http.StatusServiceUnavailable, serve(h, "GET", "/v1/members/m1/profile", "", "").status)
	assert.Equal(t, http.StatusServiceUnavailable, serve(h, "POST", "/v1/members/m1/history", jsonType, `{"title": "t"}`).status)

	var r RequestsReport
	require.NoError(t, json.Unmarshal([]byte(serve(h, "GET", "/admin/requests", "", "").body), &r))
	assert.Equal(t, "i-1", r.Instance)
	require.Len(t, r.Samples, 3)
	assert.Equal(t, []int{400, 503, 503}, []int{r.Samples[0].Status, r.Samples[1].Status, r.Samples[2].Status})
	assert.Equal(t, []bool{false, true, true}, []bool{r.Samples[0].Failed(), r.Samples[1].Failed(), r.Samples[2].Failed()})
	assert.Equal(t, "GET profile", r.Samples[1].Op)
	assert.Equal(t, "POST history", r.Samples[2].Op)
	assert.False(t, r.Samples[0].At.Before(before))

	since := r.Samples[1].At
	require.NoError(t, json.Unmarshal([]byte(serve(h, "GET", "/admin/requests?since="+since.UTC().Format(time.RFC3339Nano), "", "").body), &r))
	assert.Len(t, r.Samples, 2, "since keeps the requests at or after it")
	assert.False(t, r.Overwritten)

	bad := serve(h, "GET", "/admin/requests?since=yesterday", "", "")
	assert.Equal(t, http.StatusBadRequest, bad.status)
	assert.Contains(t, bad.body, "send an RFC 3339 time")
}

func TestRequestLogKeepsTheNewest(t *testing.T) {
	var l requestLog
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for i := range RequestLogSize + 10 {
		l.add(RequestSample{At: t0.Add(time.Duration(i) * time.Millisecond), Status: 200})
	}
	all, overwritten := l.since(t0)
	assert.Len(t, all, RequestLogSize)
	assert.True(t, overwritten, "the ten oldest after t0 are gone")
	assert.Equal(t, t0.Add(10*time.Millisecond), all[0].At, "oldest first")
	assert.Equal(t, t0.Add(time.Duration(RequestLogSize+9)*time.Millisecond), all[len(all)-1].At)

	recent, overwritten := l.since(t0.Add(time.Duration(RequestLogSize) * time.Millisecond))
	assert.Len(t, recent, 10)
	assert.False(t, overwritten)
}
