package output

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/gameday"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/fault/preflight"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/reports/diff"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares doc, encoded, with testdata/name, or rewrites it with
// -update.
func golden(t *testing.T, name string, doc any) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Encode(&buf, doc))
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "go test ./internal/output -update creates the golden file")
	assert.Equal(t, string(want), buf.String(), "%s differs from the golden file (go test ./internal/output -update rewrites it)", name)
}

// report builds the report of a run fixture of the reports package, in a
// copy of it.
func report(t *testing.T, name string) *reports.Report {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "reports", "testdata", name))))
	r, err := reports.Build(dir)
	require.NoError(t, err)
	return r
}

func TestList(t *testing.T) {
	golden(t, "list.json", NewList([]scenarios.Spec{
		{Name: "split-brain", Description: "cut the link between the regions; each keeps serving its users", Profile: "default",
			MinRegions: 2, Timeout: 15 * time.Minute, Short: true,
			Broken: []scenarios.Variant{{Name: "remote-writes", Broken: "writes go to the other region", Checker: "local-writes"}}},
		{Name: "chaos-kong", Description: "take a whole region away", Profile: "default", MinRegions: 2, Timeout: 20 * time.Minute},
	}))
	golden(t, "list-empty.json", NewList(nil))
}

func TestFaults(t *testing.T) {
	golden(t, "faults.json", NewFaults(
		fault.Entry{Name: "link-latency", Description: "slow a link down", Targets: []fault.Scope{fault.ScopeLink},
			Params: []fault.Param{{Name: "latency", Default: "200", Help: "added latency, ms"}, {Name: "stream", Default: "upstream", Help: "direction"}}},
		fault.Entry{Name: "kill-instance", Description: "kill a component (SIGKILL)", Targets: []fault.Scope{fault.ScopeInstance, fault.ScopeZone}},
	))
}

func TestRun(t *testing.T) {
	golden(t, "run.json", NewRun("kong-reports/split-brain-20250101T120000Z", report(t, "failed-run")))
}

func TestGameday(t *testing.T) {
	g := NewGameday("kong", "kong-reports")
	g.Rounds = 1
	g.Runs = append(g.Runs,
		GamedayRun{Round: 1, RunResult: NewRunResult("kong-reports/split-brain-20250101T120000Z", report(t, "failed-run"))},
		GamedayRun{Round: 1, RunResult: NewRunResult("kong-reports/chaos-kong-20250101T121500Z", report(t, "aborted-run"))},
		GamedayRun{Round: 1, RunResult: Unreported("kong-reports/latency-20250101T123000Z", "latency", os.ErrNotExist)})
	golden(t, "gameday.json", g.End(gameday.Result{Rounds: 1, Failed: []string{"split-brain", "chaos-kong", "latency"}, Broken: true}, errors.New("3 scenarios did not pass")))
	assert.Equal(t, history.StatusPassed, NewGameday("kong", "out").End(gameday.Result{Rounds: 1}, nil).Status)
	assert.Equal(t, history.StatusError, NewGameday("kong", "out").End(gameday.Result{Rounds: 1, Failed: []string{"world kong"}}, errors.New("world kong is not up")).Status)
}

func TestDiff(t *testing.T) {
	a, b := report(t, "failed-run"), report(t, "failed-run")
	b.Status, b.Reason, b.Verdict = history.StatusPassed, "", history.VerdictValid
	b.Figures[reports.KeyConvergence] = 9.5
	golden(t, "diff.json", NewDiff(diff.Compare(a, b), "kong-reports/a", "kong-reports/b"))
}

func TestStatus(t *testing.T) {
	comps := []topology.Status{
		{Component: topology.Component{ID: "toxiproxy", Kind: "toxiproxy", Address: "127.116.0.1:8474"}, PID: 4100, State: topology.StateRunning, Log: "/home/k/.kong/kong/toxiproxy.log"},
		{Component: topology.Component{ID: "us-east-1/cassandra/a", Kind: topology.KindCassandra, Region: "us-east-1", Zone: "a", Address: "127.116.1.1:9042",
			Extra: map[string]string{"broadcast": "127.116.1.101:7000"}}, PID: 4101, State: topology.StatePaused},
		{Component: topology.Component{ID: "us-west-2/memcached/a", Kind: topology.KindMemcached, Region: "us-west-2", Zone: "a", Address: "127.116.2.1:11211"}, State: topology.StateStopped},
	}
	health := func(c topology.Status) string {
		if c.State == topology.StateRunning {
			return "ok"
		}
		return string(c.State)
	}
	st := preflight.State{
		Links: []preflight.LinkState{
			{Name: "us-east-1->us-west-2", Proxies: 5, Disabled: 5},
			{Name: "us-west-2->us-east-1", Proxies: 5, Disabled: 2, Toxics: []string{"latency latency=200 jitter=0 on 5 of 5 proxies"}},
			{Name: "us-east-1->eu-west-1", Proxies: 5},
		},
		Director: &director.Table{Regions: []string{"us-east-1", "us-west-2"}, Geos: []string{"us-east", "us-west"},
			Home: map[string]string{"us-east": "us-east-1", "us-west": "us-west-2"}, Overrides: map[string]string{"us-west": "us-east-1"},
			Evacuated: map[string]float64{"us-west-2": 1}, Effective: map[string]map[string]float64{"us-east": {"us-east-1": 1}, "us-west": {"us-east-1": 1}}},
		Gateways: []preflight.GatewayState{{ID: "us-east-1/gateway", Region: "us-east-1", Dynamic: gateway.Dynamic{Mode: "shed", Failover: true, MaxRPS: 500}}},
		Findings: []string{"link us-east-1->us-west-2 is cut", "us-east-1/cassandra/a is paused"},
	}
	golden(t, "status.json", NewStatus("kong", "local", "127.116.0.1:8474", comps, health, st))
	golden(t, "status-clean.json", NewStatus("kong", "containers", "127.0.0.1:32768", comps[:1], nil, preflight.State{Links: []preflight.LinkState{{Name: "us-east-1->us-west-2", Proxies: 5}}}))
}

func TestVersion(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/kongchaos/kong", Version: "v0.4.1-0.20261204195800-d299b50a1b2c+dirty"},
		Deps:     []*debug.Module{{Path: "github.com/Shopify/toxiproxy/v2", Version: "v2.12.0"}},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "d299b50a1b2c3d4e5f60718293a4b5c6d7e8f901"}, {Key: "vcs.modified", Value: "true"}}}
	spec := &topology.Spec{Cassandra: topology.CassandraSpec{Version: "5.0.9"}, SQS: topology.SQSSpec{ElasticMQVersion: "1.6.16"}}
	v := NewVersion(info, spec, "1.6.18", containers.DefaultImages())
	golden(t, "version.json", v)
	var text bytes.Buffer
	require.NoError(t, v.Write(&text))
	assert.Equal(t, `kong v0.4.1-0.20261204195800-d299b50a1b2c+dirty (github.com/kongchaos/kong, commit d299b50a1b2c3d4e5f60718293a4b5c6d7e8f901, modified, go1.26.8)

COMPONENT  LOCAL BACKEND          CONTAINER IMAGE
cassandra  5.0.9 (Maven)          cassandra:5.0
elasticmq  1.6.16 (Maven)         -
sqs        -                      localstack/localstack:4.4
toxiproxy  v2.12.0 (compiled in)  ghcr.io/shopify/toxiproxy:2.12.0
memcached  1.6.18                 memcached:1.6
kong       -                      kongchaos/kong:dev
`, text.String())
	golden(t, "version-no-memcached.json", NewVersion(nil, spec, "", containers.DefaultImages()))
}
