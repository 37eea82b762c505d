package deploy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app/member"
)

// instance serves the admin API of one member service instance as its
// answers are written: its version and its recent requests.
func instance(t *testing.T, version *string, report member.RequestsReport) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(member.StatsReport{Version: *version})
	})
	mux.HandleFunc("GET /admin/requests", func(w http.ResponseWriter, r *http.Request) {
		since, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get("since"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rep := report
		rep.Samples = nil
		for _, s := range report.Samples {
			if !s.At.Before(since) {
				rep.Samples = append(rep.Samples, s)
			}
		}
		_ = json.NewEncoder(w).Encode(rep)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func admins(servers map[string]*httptest.Server) Admins {
	return func(inst string) (member.AdminClient, error) {
		return member.NewAdminClient(servers[inst].URL, "secret"), nil
	}
}

func TestInstanceMetrics(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	v := "v1"
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	servers := map[string]*httptest.Server{
		"a": instance(t, &v, member.RequestsReport{Samples: []member.RequestSample{
			{At: at(-1), Status: 500, LatencyMS: 1}, // before the window
			{At: at(0), Status: 200, LatencyMS: 10},
			{At: at(1), Status: 503, LatencyMS: 2},
			{At: at(2), Status: 404, LatencyMS: 4},
			{At: at(10), Status: 200, LatencyMS: 99}, // at its end: after it
		}}),
		"b": instance(t, &v, member.RequestsReport{Samples: []member.RequestSample{
			{At: at(3), Status: 0, LatencyMS: 2000}, // the caller gave up
			{At: at(4), Status: 200, LatencyMS: 30},
		}}),
	}
	got, err := InstanceMetrics{Admins: admins(servers)}.Samples(context.Background(), []string{"a", "b"}, t0, at(10))
	require.NoError(t, err)
	assert.Equal(t, map[string][]float64{
		MetricErrors:  {0, 1, 0, 1, 0},
		MetricLatency: {10, 4, 30},
	}, got)

	servers["c"] = instance(t, &v, member.RequestsReport{Overwritten: true})
	_, err = InstanceMetrics{Admins: admins(servers)}.Samples(context.Background(), []string{"c"}, t0, at(10))
	assert.ErrorContains(t, err, "shorten the analysis")
}

// releaser restarts an instance on a release by setting the version its
// admin API answers, unless it is told to lie.
type releaser struct {
	versions map[string]*string
	deployed []member.Release
	lie      bool
}

func (r *releaser) Deploy(_ context.Context, id string, rel member.Release) error {
	r.deployed = append(r.deployed, rel)
	if !r.lie {
		*r.versions[id] = rel.Version
	}
	return nil
}

func TestWorldFleet(t *testing.T) {
	v := "v1"
	servers := map[string]*httptest.Server{"a": instance(t, &v, member.RequestsReport{})}
	r := &releaser{versions: map[string]*string{"a": &v}}
	f := WorldFleet{World: r, Versions: DefaultVersions(), Admins: admins(servers)}

	require.NoError(t, f.Deploy(context.Background(), "a", "v2-errors"))
	assert.Equal(t, "v2-errors", v)
	assert.Equal(t, member.Release{Version: "v2-errors", Defects: member.Faults{ErrorRate: 0.1}}, r.deployed[0])

	assert.ErrorContains(t, f.Deploy(context.Background(), "a", "v7"), `unknown version "v7": the versions are v1, v2, v2-errors, v2-lost-writes, v2-slow, v2-wrong-member`)

	r.lie = true
	assert.ErrorContains(t, f.Deploy(context.Background(), "a", "v2"), `a restarted on v2 but says it runs "v2-errors"`)
}

func TestDefaultVersionsAreValid(t *testing.T) {
	for name, r := range DefaultVersions() {
		assert.Equal(t, name, r.Version)
		assert.NoError(t, r.Validate())
	}
}
