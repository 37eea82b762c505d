package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/internal/worldtest"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/topology"
)

// One real world, on the default topology every scenario is written for,
// serves every scenario of the test binary. With -short the world still
// comes up and the scenarios marked Short run (a fast subset); the others
// and the broken-world runs need the full run.
var shared = worldtest.Shared{EvenShort: true}

func TestMain(m *testing.M) { worldtest.RunShared(m, &shared, "test-scenarios", "default") }

func env(t *testing.T, name string) *Env {
	t.Helper()
	w := shared.Get(t)
	dir := filepath.Join(t.TempDir(), name)
	return &Env{Cluster: w, Dir: dir, Seed: 42, Replay: "kong run " + name + " --seed 42", Backend: worldtest.Backend(),
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
}

// full skips a test in the -short subset.
func full(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("not in the -short subset of scenarios")
	}
}

// shortOnly checks that a scenario a test runs under -short is marked Short.
func shortOnly(t *testing.T, name string) {
	t.Helper()
	s, err := Get(name)
	require.NoError(t, err)
	if testing.Short() && !s.Short {
		t.Fatalf("%s runs under -short but is not marked Short", name)
	}
}

// runInDir runs a scenario's run function into e.Dir (RunInDir: the run,
// then its reports), logs its checkers, and checks that the world was left
// whole.
func runInDir(t *testing.T, e *Env, f RunFunc) (*run.Outcome, *reports.Report) {
	t.Helper()
	res, err := RunInDir(context.Background(), Spec{Name: filepath.Base(e.Dir), Run: f}, e)
	require.NoError(t, err)
	require.NoError(t, res.ReportErr)
	out := res.Outcome
	for _, r := range out.Verdict.Children {
		t.Logf("%s: %s: %s", r.Checker, r.Valid, r.Reason)
	}
	requireHealed(t, e.Cluster)
	if out.Status != history.StatusPassed {
		plog, _ := os.ReadFile(filepath.Join(e.Dir, "phases.log"))
		t.Logf("phases.log:\n%s", plog)
	}
	return out, res.Report
}

// requireHealed: every component runs, every link is enabled and carries
// no toxic.
func requireHealed(t *testing.T, c topology.Cluster) {
	t.Helper()
	st, err := c.Components(context.Background())
	require.NoError(t, err)
	for _, s := range st {
		require.Equal(t, topology.StateRunning, s.State, "%s was left %s", s.ID, s.State)
	}
	proxies, err := toxiclient.NewClient(c.ToxiproxyAPI()).Proxies()
	require.NoError(t, err)
	for name, p := range proxies {
		require.True(t, p.Enabled, "link proxy %s was left disabled", name)
		toxics, err := p.Toxics()
		require.NoError(t, err)
		require.Empty(t, toxics, "link proxy %s was left with toxics", name)
	}
}

// requireVerdict finds a checker's result.
func requireVerdict(t *testing.T, out *run.Outcome, checker string, want history.Verdict) history.Result {
	t.Helper()
	for _, r := range out.Verdict.Children {
		if r.Checker == checker {
			require.Equal(t, want, r.Valid, "%s: %s", checker, r.Reason)
			return r
		}
	}
	t.Fatalf("no %s result among %v", checker, out.Verdict.Children)
	return history.Result{}
}

func TestSplitBrain(t *testing.T) {
	shortOnly(t, "split-brain")
	e := env(t, "split-brain")
	p := splitBrain
	p.Times = Times{Steady: 10 * time.Second, Observe: 15 * time.Second, Converge: 30 * time.Second}
	out, r := runInDir(t, e, func(ctx context.Context, e *Env) (*run.Outcome, error) { return runSplitBrain(ctx, e, p) })
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	for _, f := range []string{"history.jsonl", "run.json", "phases.log", "report.json", "report.md", "junit.xml"} {
		_, err := os.Stat(filepath.Join(e.Dir, f))
		require.NoError(t, err, "the run left no %s", f)
	}
	require.Len(t, r.Faults, 1)
	require.NotNil(t, r.Faults[0].TimeToEffectS, "the partition time to effect was not measured")
	require.NotNil(t, r.Faults[0].TimeToHealS, "the partition time to heal was not measured")
	iso := requireVerdict(t, out, "split-isolation", history.VerdictValid)
	require.Positive(t, iso.Figures["written_during_cut.us-east-1"], "us-east-1 wrote nothing during the cut")
	require.Contains(t, iso.Figures, check.FigConvergence)
}

func TestChaosMonkey(t *testing.T) {
	shortOnly(t, "chaos-monkey")
	p := chaosMonkey
	p.Times, p.Kills, p.Interval = Times{Steady: 10 * time.Second, Observe: 5 * time.Second, Converge: 20 * time.Second}, 2, 12*time.Second
	out, r := runInDir(t, env(t, "chaos-monkey"), func(ctx context.Context, e *Env) (*run.Outcome, error) { return runChaosMonkey(ctx, e, p) })
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	require.Len(t, r.Faults, 2, "one kill per interval")
	for _, f := range r.Faults {
		require.NotNil(t, f.TimeToHealS, "%s on %s was not seen healed", f.Name, f.Target)
	}
}

func TestChaosGorilla(t *testing.T) {
	full(t)
	p := chaosGorilla
	p.Times = Times{Steady: 10 * time.Second, Observe: 20 * time.Second, Converge: 30 * time.Second}
	out, _ := runInDir(t, env(t, "chaos-gorilla"), func(ctx context.Context, e *Env) (*run.Outcome, error) { return runChaosGorilla(ctx, e, p) })
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
}

func TestChaosKong(t *testing.T) {
	shortOnly(t, "chaos-kong")
	p := chaosKong
	p.Times, p.StepWait = Times{Steady: 10 * time.Second, Observe: 15 * time.Second, Converge: 15 * time.Second}, 5*time.Second
	out, r := runInDir(t, env(t, "chaos-kong"), func(ctx context.Context, e *Env) (*run.Outcome, error) { return runChaosKong(ctx, e, p) })
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	steps := 0
	for _, ev := range r.Traffic {
		if ev.Name == "evacuate" {
			steps++
		}
	}
	require.Equal(t, len(p.Steps), steps, "every evacuation step is on the timeline")
}

func TestLatencyMonkey(t *testing.T) {
	full(t)
	p := latencyMonkey
	p.Times = Times{Steady: 10 * time.Second, Observe: 20 * time.Second, Converge: 10 * time.Second}
	e := env(t, "latency-monkey")
	before := gatewayTryTimeouts(t, e.Cluster, "us-east-1")
	out, _ := runInDir(t, e, func(ctx context.Context, e *Env) (*run.Outcome, error) { return runLatencyMonkey(ctx, e, p) })
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	// The protection was at work: stalled reads were sent elsewhere.
	require.Greater(t, gatewayTryTimeouts(t, e.Cluster, "us-east-1"), before, "no read outlived its try timeout: did the reads stall?")
}

// gatewayTryTimeouts reads a region's gateway count of reads abandoned
// after their try timeout.
func gatewayTryTimeouts(t *testing.T, c topology.Cluster, region string) int64 {
	t.Helper()
	comps, err := c.Components(context.Background())
	require.NoError(t, err)
	for _, s := range comps {
		if s.Kind != topology.KindGateway || s.Region != region {
			continue
		}
		req, err := http.NewRequest(http.MethodGet, "http://"+s.Address+"/admin/stats", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+c.Secret())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var st struct {
			Totals struct {
				TryTimeouts int64 `json:"try_timeouts"`
			} `json:"totals"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		return st.Totals.TryTimeouts
	}
	t.Fatalf("no gateway in %s", region)
	return 0
}

func TestThunderingHerd(t *testing.T) {
	shortOnly(t, "thundering-herd")
	p := thunderingHerd
	p.Times = Times{Steady: 10 * time.Second, Observe: 15 * time.Second, Converge: 15 * time.Second}
	out, _ := runInDir(t, env(t, "thundering-herd"), func(ctx context.Context, e *Env) (*run.Outcome, error) { return runThunderingHerd(ctx, e, p) })
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	requireVerdict(t, out, "shedding", history.VerdictValid)
}

func TestMisrouted(t *testing.T) {
	shortOnly(t, "misrouted")
	p := misrouted
	p.Times, p.Interval = Times{Steady: 8 * time.Second, Observe: 3 * time.Second, Converge: 10 * time.Second}, 12*time.Second
	out, _ := runInDir(t, env(t, "misrouted"), func(ctx context.Context, e *Env) (*run.Outcome, error) { return runMisrouted(ctx, e, p) })
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	res := requireVerdict(t, out, "home-routing", history.VerdictValid)
	for _, path := range []string{"proxied", "redirected", "failover"} {
		require.Positive(t, res.Figures[path], "no misrouted request went the %s way", path)
	}
}

// Broken worlds: each scenario fails, with a clear reason, when its key
// protection is switched off.

func TestSplitBrainWithRemoteWritesFails(t *testing.T) {
	full(t)
	p := splitBrain
	p.Times, p.RemoteWrites = Times{Steady: 8 * time.Second, Observe: 15 * time.Second, Converge: 20 * time.Second}, true
	out, _ := runInDir(t, env(t, "split-brain-remote-writes"), func(ctx context.Context, e *Env) (*run.Outcome, error) {
		return runSplitBrain(ctx, e, p)
	})
	require.Equal(t, history.StatusFailed, out.Status, "a split with a cross-region call on every write passed")
	requireVerdict(t, out, "availability", history.VerdictInvalid)
}

func TestThunderingHerdWithoutSheddingFails(t *testing.T) {
	full(t)
	p := thunderingHerd
	p.Times, p.Capacity = Times{Steady: 8 * time.Second, Observe: 15 * time.Second, Converge: 10 * time.Second}, 0
	out, _ := runInDir(t, env(t, "thundering-herd-no-shedding"), func(ctx context.Context, e *Env) (*run.Outcome, error) {
		return runThunderingHerd(ctx, e, p)
	})
	require.Equal(t, history.StatusFailed, out.Status, "a herd with shedding off passed")
	r := requireVerdict(t, out, "shedding", history.VerdictInvalid)
	require.Contains(t, r.Reason, "data tier peak")
}

// Latency Monkey with the gateway's try timeout off: the stalled reads wait
// for their instance until the member timeout and fail, past the budget.
func TestLatencyMonkeyWithoutTryTimeoutFails(t *testing.T) {
	full(t)
	p := latencyMonkey
	p.Times, p.NoTryTimeout = Times{Steady: 8 * time.Second, Observe: 30 * time.Second, Converge: 10 * time.Second}, true
	out, _ := runInDir(t, env(t, "latency-monkey-no-try-timeout"), func(ctx context.Context, e *Env) (*run.Outcome, error) {
		return runLatencyMonkey(ctx, e, p)
	})
	require.Equal(t, history.StatusFailed, out.Status, "stalled reads with no try timeout passed")
	r := requireVerdict(t, out, "availability", history.VerdictInvalid)
	require.Contains(t, r.Reason, "us-east-1")
}

// Chaos Monkey with writes at ALL: one dead Cassandra node fails them.
func TestChaosMonkeyWithWritesAtAllFails(t *testing.T) {
	full(t)
	p := chaosMonkey
	p.Times, p.Kills, p.Interval = Times{Steady: 8 * time.Second, Observe: 3 * time.Second, Converge: 15 * time.Second}, 1, 15*time.Second
	p.Kinds, p.AllReplicas = []string{topology.KindCassandra}, true
	out, _ := runInDir(t, env(t, "chaos-monkey-writes-at-all"), func(ctx context.Context, e *Env) (*run.Outcome, error) {
		return runChaosMonkey(ctx, e, p)
	})
	require.Equal(t, history.StatusFailed, out.Status, "writes at ALL with a dead node passed")
	requireVerdict(t, out, "availability", history.VerdictInvalid)
}

// Misrouted with the entry gateway's directional table pointing the
// misrouted geo at the wrong region (itself): its members are served away
// from home with no failover mark.
func TestMisroutedWithTheWrongHomeFails(t *testing.T) {
	full(t)
	e := env(t, "misrouted-wrong-home")
	regions := e.Cluster.Spec().RegionNames()
	p := misrouted
	p.Times, p.Interval = Times{Steady: 5 * time.Second, Observe: 3 * time.Second, Converge: 8 * time.Second}, 12*time.Second
	p.Rounds = []misroutedRound{{"wrong-home", gateway.Patch{Mode: new("isthmus"), Failover: new(false),
		HomeOverrides: &map[string]string{regions[1]: regions[0]}}}}
	out, _ := runInDir(t, e, func(ctx context.Context, e *Env) (*run.Outcome, error) { return runMisrouted(ctx, e, p) })
	require.Equal(t, history.StatusFailed, out.Status, "misrouted members served by the wrong region passed")
	r := requireVerdict(t, out, "home-routing", history.VerdictInvalid)
	require.Contains(t, r.Reason, "outside their home region without failover")
}

func TestChaosKongWithoutFailoverFails(t *testing.T) {
	full(t)
	p := chaosKong
	p.Times, p.StepWait = Times{Steady: 8 * time.Second, Observe: 15 * time.Second, Converge: 10 * time.Second}, 3*time.Second
	p.NoFailover, p.Degrade = true, 0.5
	out, _ := runInDir(t, env(t, "chaos-kong-no-failover"), func(ctx context.Context, e *Env) (*run.Outcome, error) { return runChaosKong(ctx, e, p) })
	require.Equal(t, history.StatusFailed, out.Status, "evacuating a failing region without failover passed")
	requireVerdict(t, out, "availability", history.VerdictInvalid)
}

// The no-op fault paired with an expectation of harm must fail: proof that
// the checkers can fail against the real world.
func TestNoopFaultWithExpectedHarmFails(t *testing.T) {
	full(t)
	e := env(t, "noop")
	director, err := topology.DirectorURL(context.Background(), e.Cluster)
	require.NoError(t, err)
	x := &run.Experiment{
		Name: "noop", Seed: e.Seed, Dir: e.Dir, Log: e.Log,
		Workload: workload.Config{Director: director, Geos: e.Cluster.Spec().RegionNames(), Pacer: workload.Constant(20), Members: 50},
		Faults:   []fault.Fault{fault.Noop{}},
		Checkers: []check.Checker{&check.ExpectHarm{Inner: &check.Availability{SLO: 0.999}}},
		Steady:   3 * time.Second, Observe: 5 * time.Second, Converge: 2 * time.Second,
	}
	out, err := x.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, history.StatusFailed, out.Status, "a harmless run passed a check that expected harm")
}

func TestRealLifeFailover(t *testing.T) {
	full(t)
	p := realLifeFailover
	p.Times = Times{Steady: 10 * time.Second, Observe: 15 * time.Second, Converge: 10 * time.Second}
	e := env(t, "real-life-failover")
	out, r := runInDir(t, e, func(ctx context.Context, e *Env) (*run.Outcome, error) { return runRealLifeFailover(ctx, e, p) })
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	for _, f := range []string{"failover.detection_s", "failover.decision_s", "failover.shift_s"} {
		require.Contains(t, r.Figures, f, "the run did not measure %s", f)
	}
	require.GreaterOrEqual(t, r.Figures["failover.decision_s"], p.Confirm.Seconds(), "decided before the signal held")
}

func TestRealLifeFailoverWithoutEvacuationFails(t *testing.T) {
	full(t)
	p := realLifeFailover
	p.Times, p.NoEvacuate = Times{Steady: 8 * time.Second, Observe: 12 * time.Second, Converge: 8 * time.Second}, true
	out, _ := runInDir(t, env(t, "real-life-failover-no-evacuation"), func(ctx context.Context, e *Env) (*run.Outcome, error) {
		return runRealLifeFailover(ctx, e, p)
	})
	require.Equal(t, history.StatusFailed, out.Status, "a degraded region that was never evacuated passed")
	r := requireVerdict(t, out, "availability", history.VerdictInvalid)
	require.Contains(t, r.Reason, "observe")
}

// setReplication sets the keyspace's replication factor in one region
// (ALTER KEYSPACE), keeping the others at the spec's.
func setReplication(t *testing.T, c topology.Cluster, region string, rf int) {
	t.Helper()
	spec := c.Spec()
	s, err := topology.RegionSession(c, spec.RegionNames()[0], spec.Cassandra.Keyspace)
	require.NoError(t, err)
	defer cql.CloseSession(s)
	repl := "'class': 'NetworkTopologyStrategy'"
	for _, r := range spec.RegionNames() {
		n := spec.Cassandra.ReplicationFactor
		if r == region {
			n = rf
		}
		repl += fmt.Sprintf(", '%s': %d", r, n)
	}
	require.NoError(t, s.Query(fmt.Sprintf("ALTER KEYSPACE %s WITH replication = {%s}", spec.Cassandra.Keyspace, repl)).Exec())
}

// Chaos Gorilla with one replica per region: a zone's death takes the
// keys whose only replica lived there. It runs last: the data written
// while RF was 1 has one replica in the region until a repair.
func TestChaosGorillaWithRF1Fails(t *testing.T) {
	full(t)
	e := env(t, "chaos-gorilla-rf1")
	region := e.Cluster.Spec().RegionNames()[0]
	setReplication(t, e.Cluster, region, 1)
	t.Cleanup(func() { setReplication(t, e.Cluster, region, e.Cluster.Spec().Cassandra.ReplicationFactor) })
	p := chaosGorilla
	p.Times = Times{Steady: 8 * time.Second, Observe: 15 * time.Second, Converge: 20 * time.Second}
	out, _ := runInDir(t, e, func(ctx context.Context, e *Env) (*run.Outcome, error) { return runChaosGorilla(ctx, e, p) })
	require.Equal(t, history.StatusFailed, out.Status, "a zone outage with RF 1 passed")
	requireVerdict(t, out, "availability", history.VerdictInvalid)
}
