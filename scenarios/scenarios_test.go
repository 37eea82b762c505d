package scenarios

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/internal/worldtest"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/topology"
)

// One real world, on the default topology every scenario is written for,
// serves every scenario of the test binary. With -short the world still
// comes up and the scenarios marked Short run (a fast subset); the others
// and the broken worlds need the full run.
var shared = worldtest.Shared{EvenShort: true}

func TestMain(m *testing.M) { worldtest.RunShared(m, &shared, "test-scenarios", "default") }

func env(t *testing.T, name string) *Env {
	t.Helper()
	return envOn(shared.Get(t), t, name)
}

// envOn is env on the world c.
func envOn(c topology.Cluster, t *testing.T, name string) *Env {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	return &Env{Cluster: c, Dir: dir, Seed: 42, Replay: "kong run " + name + " --seed 42", Backend: worldtest.Backend(),
		Log:              slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		ReadBackDeadline: testReadBackDeadline}
}

// testReadBackDeadline is the read-back's deadline in the tests, healthy
// runs and broken worlds alike. A healthy run's read-back ends within a few
// seconds of its converge phase (1 to 3 s on the default world, 8 s on the
// global one, whose gateways pace it); a broken world that lost a write or
// left a stale copy waits the whole deadline, and six of them do.
const testReadBackDeadline = 15 * time.Second

// full skips a test in the -short subset.
func full(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("not in the -short subset of scenarios")
	}
}

// TestScenarios runs every registered scenario written for the default
// profile as the Go tests run it (Spec.Quick): the healthy run must pass,
// and show what shows (below) asks of it. Then each of its broken worlds
// runs with the same seed and must be caught by exactly its checker, for
// its reason, a checker the healthy run found valid (Variant.Judge).
// -short runs the Short ones. With KONG_RECORD_BROKEN=1 each broken world
// caught is recorded in CaughtFile, for the README's table.
func TestScenarios(t *testing.T) {
	timed(t)
	runScenarios(t, ofProfile(All(), "default"), func(t *testing.T, name string) *Env { return env(t, name) })
}

// ofProfile are the specs written for profile (default takes small too).
func ofProfile(specs []Spec, profile string) []Spec {
	return slices.DeleteFunc(specs, func(s Spec) bool { return (s.Profile == "global") != (profile == "global") })
}

func runScenarios(t *testing.T, specs []Spec, env func(t *testing.T, name string) *Env) {
	for _, s := range inRunOrder(specs) {
		t.Run(s.Name, func(t *testing.T) {
			timed(t)
			if testing.Short() && !s.Short {
				t.Skip("not in the -short subset of scenarios")
			}
			e := env(t, s.Name)
			after := showsNothing
			if f, ok := shows[s.Name]; ok {
				after = f(t, e)
			}
			healthy, r := runInDir(t, s, s.Quick, e)
			require.Equal(t, history.StatusPassed, healthy.Status, healthy.Reason)
			after(healthy, r)
			for _, v := range variantsInRunOrder(s.Broken) {
				t.Run(v.Name, func(t *testing.T) {
					timed(t)
					if testing.Short() && !v.Short {
						t.Skip("not in the -short subset of broken worlds")
					}
					name := s.Name + "/" + v.Name
					e := env(t, s.Name+"-"+v.Name)
					after := showsNothing
					if f, ok := shows[name]; ok {
						after = f(t, e)
					}
					bs := s
					bs.Description += "; broken world: " + v.Broken
					broken, r := runInDir(t, bs, v.Run, e)
					require.NoError(t, v.Judge(healthy, broken), "%s: %s", name, v.Broken)
					after(broken, r)
					if os.Getenv("KONG_RECORD_BROKEN") == "1" {
						require.NoError(t, RecordCaught(CaughtFile, v.Catch(s.Name, e.Seed, healthy, broken, time.Now())))
					}
				})
			}
		})
	}
}

// timed appends the test's outcome and duration, when it ends (unless it
// skipped), to the file KONG_TEST_TIMES names (make test prints it: where
// the game days' time goes), with the test binary's goroutines and heap
// then, and the machine's CPU pressure over the last minute. A file that
// cannot be written fails the test.
func timed(t *testing.T) {
	path := os.Getenv("KONG_TEST_TIMES")
	if path == "" {
		return
	}
	start := time.Now()
	t.Cleanup(func() {
		if t.Skipped() {
			return
		}
		outcome := "pass"
		if t.Failed() {
			outcome = "FAIL"
		}
		// The test binary's own load, which the traffic it sends shares:
		// a binary that kept goroutines or memory from every run would
		// show it here.
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		_, err = fmt.Fprintf(f, "%-4s %7.1fs  %s (%s; %d goroutines, %d MiB heap; cpu pressure %s)\n", outcome, time.Since(start).Seconds(), t.Name(),
			worldtest.Backend(), runtime.NumGoroutine(), m.HeapAlloc>>20, cpuPressure())
		require.NoError(t, errors.Join(err, f.Close()))
	})
}

// cpuPressure is the share of the last minute in which some task waited
// for a CPU (Linux's /proc/pressure/cpu, "some avg60"), or "?".
func cpuPressure() string {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return "?"
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "avg60="); ok {
			return v + "%"
		}
	}
	return "?"
}

// inRunOrder puts the scenarios with a broken world that leaves something
// behind (Variant.Leaves) after the others, keeping the order otherwise.
func inRunOrder(specs []Spec) []Spec {
	leaves := func(s Spec) bool {
		return slices.ContainsFunc(s.Broken, func(v Variant) bool { return v.Leaves != "" })
	}
	slices.SortStableFunc(specs, func(a, b Spec) int { return lastIf(leaves(a), leaves(b)) })
	return specs
}

// variantsInRunOrder puts the broken worlds that leave something behind
// last.
func variantsInRunOrder(vs []Variant) []Variant {
	vs = slices.Clone(vs)
	slices.SortStableFunc(vs, func(a, b Variant) int { return lastIf(a.Leaves != "", b.Leaves != "") })
	return vs
}

// lastIf orders x after y when only x is marked.
func lastIf(x, y bool) int {
	switch {
	case x == y:
		return 0
	case x:
		return 1
	}
	return -1
}

// runInDir runs a scenario's run function f under spec s into e.Dir
// (RunInDir: the run, then its reports), logs its checkers, and checks
// that the world was left whole.
func runInDir(t *testing.T, s Spec, f RunFunc, e *Env) (*run.Outcome, *reports.Report) {
	t.Helper()
	s.Run = f
	res, err := RunInDir(context.Background(), s, e)
	require.NoError(t, err)
	require.NoError(t, res.ReportErr)
	out := res.Outcome
	for _, r := range out.Verdict.Children {
		t.Logf("%s: %s: %s", r.Checker, r.Valid, r.Reason)
		if r.Valid != history.VerdictValid {
			for _, d := range r.Details[:min(len(r.Details), 5)] {
				t.Logf("  %s", d)
			}
		}
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
	r, ok := result(out, checker)
	require.True(t, ok, "no %s result among %v", checker, out.Verdict.Children)
	require.Equal(t, want, r.Valid, "%s: %s", checker, r.Reason)
	return r
}

// shows holds what a run must show beyond its verdict, by scenario (the
// healthy run) or scenario/variant (a broken world's run). Each is called
// before the run and returns the check of what the run left.
var shows = map[string]func(t *testing.T, e *Env) func(out *run.Outcome, r *reports.Report){
	"split-brain": afterRun(func(t *testing.T, e *Env, out *run.Outcome, r *reports.Report) {
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
	}),
	"chaos-monkey": afterRun(func(t *testing.T, _ *Env, _ *run.Outcome, r *reports.Report) {
		require.Len(t, r.Faults, 2, "one kill per interval")
		for _, f := range r.Faults {
			require.NotNil(t, f.TimeToHealS, "%s on %s was not seen healed", f.Name, f.Target)
		}
	}),
	"chaos-kong": afterRun(func(t *testing.T, _ *Env, _ *run.Outcome, r *reports.Report) {
		steps := 0
		for _, ev := range r.Traffic {
			if ev.Name == "evacuate" {
				steps++
			}
		}
		require.Equal(t, len(chaosKong.Steps), steps, "every evacuation step is on the timeline")
	}),
	// The protection was at work: stalled reads were sent elsewhere.
	"latency-monkey": func(t *testing.T, e *Env) func(*run.Outcome, *reports.Report) {
		before := gatewayTryTimeouts(t, e.Cluster, "us-east-1")
		return func(*run.Outcome, *reports.Report) {
			require.Greater(t, gatewayTryTimeouts(t, e.Cluster, "us-east-1"), before, "no read outlived its try timeout: did the reads stall?")
		}
	},
	"thundering-herd": afterRun(func(t *testing.T, _ *Env, out *run.Outcome, _ *reports.Report) {
		requireVerdict(t, out, "shedding", history.VerdictValid)
	}),
	"misrouted": afterRun(func(t *testing.T, _ *Env, out *run.Outcome, _ *reports.Report) {
		res := requireVerdict(t, out, "home-routing", history.VerdictValid)
		for _, path := range []string{"proxied", "redirected", "failover"} {
			require.Positive(t, res.Figures[path], "no misrouted request went the %s way", path)
		}
	}),
	"real-life-failover": afterRun(func(t *testing.T, _ *Env, _ *run.Outcome, r *reports.Report) {
		for _, f := range []string{"failover.detection_s", "failover.decision_s", "failover.shift_s"} {
			require.Contains(t, r.Figures, f, "the run did not measure %s", f)
		}
		require.GreaterOrEqual(t, r.Figures["failover.decision_s"], realLifeFailover.Confirm.Seconds(), "decided before the signal held")
	}),
	// Every record seen, at least 99 % at 500 ms, and a report with the
	// replication section.
	"replication-check": afterRun(func(t *testing.T, e *Env, out *run.Outcome, r *reports.Report) {
		requireVerdict(t, out, "replication-complete", history.VerdictValid)
		requireVerdict(t, out, "replication-visible-at-read", history.VerdictValid)
		require.NotNil(t, r.Replication, "the report has no replication section")
		rl := r.Replication
		t.Logf("replication: %d records, %.3f%% visible at 500 ms, %d missing, p50 %.1f ms p99 %.1f ms max %.1f ms, all visible after %.0f ms",
			rl.Samples, 100*rl.VisibleAtRead, rl.Missing, rl.P50, rl.P99, rl.Max, rl.AllVisibleAfterMs)
		assert.Equal(t, replicationQuickRecords, rl.Samples)
		assert.Zero(t, rl.Missing)
		assert.GreaterOrEqual(t, rl.VisibleAtRead, 0.99)
		assert.NotEmpty(t, rl.Histogram)
		total := 0
		for _, b := range rl.Histogram {
			total += b.Count
		}
		assert.Equal(t, replicationQuickRecords, total, "the histogram counts every record seen")
		assert.LessOrEqual(t, rl.P50, rl.P99)
		assert.LessOrEqual(t, rl.P99, rl.Max)
		assert.Positive(t, rl.AllVisibleAfterMs)
		ri, err := history.LoadRunInfo(e.Dir)
		require.NoError(t, err)
		assert.Equal(t, float64(replicationQuickRecords), ri.Figures[history.FigReplicationSamples])
		assert.Positive(t, ri.Figures["replication.write_rate"])
		// The lag second by second counts every record, and every node
		// said what it was doing over the same seconds.
		written := 0
		for _, sec := range rl.Timeline {
			written += sec.Written
		}
		assert.Equal(t, replicationQuickRecords, written, "the timeline counts every record")
		require.NotNil(t, rl.Evidence, "the nodes' evidence was not sampled")
		nodes := map[string]int{}
		for _, s := range rl.Evidence.Samples {
			nodes[s.Node]++
		}
		want := 0
		for _, region := range e.Cluster.Spec().RegionNames() {
			want += len(e.Cluster.CQLContactPoints(region))
		}
		assert.Len(t, nodes, want, "a sample of every node: %v (unread: %v)", nodes, rl.Evidence.Unread)
		assert.Equal(t, want, rl.Evidence.LogsRead, "every node's logs were read for GC pauses (unread: %v)", rl.Evidence.Unread)
		// The check waited for a quiet world before it ended, and said so.
		assert.Positive(t, rl.Evidence.SettleSeconds)
		assert.Equal(t, len(rl.Evidence.Busy) == 0, rl.Evidence.Settled)
		md, err := os.ReadFile(filepath.Join(e.Dir, reports.MarkdownFile))
		require.NoError(t, err)
		assert.Contains(t, string(md), "## Replication lag")
		assert.Contains(t, string(md), "### The nodes' evidence")
	}),
	// Nothing crossed the cut links, and every record is missing.
	"replication-check/links-cut": afterRun(func(t *testing.T, e *Env, out *run.Outcome, _ *reports.Report) {
		require.Contains(t, out.Reason, "replication-complete: invalid")
		sum := loadSummary(t, e.Dir)
		assert.Equal(t, 2000, sum.Samples)
		assert.Equal(t, 0.0, sum.VisibleAtRead, "a record crossed a cut link")
		assert.Equal(t, 2000, sum.Missing)
	}),
}

// afterRun is a check of what a run left that needs nothing from before it.
func afterRun(f func(t *testing.T, e *Env, out *run.Outcome, r *reports.Report)) func(*testing.T, *Env) func(*run.Outcome, *reports.Report) {
	return func(t *testing.T, e *Env) func(*run.Outcome, *reports.Report) {
		return func(out *run.Outcome, r *reports.Report) { f(t, e, out, r) }
	}
}

func showsNothing(*run.Outcome, *reports.Report) {}

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
		st, err := app.Call[gateway.StatsReport](context.Background(), app.NewClient("http://"+s.Address, c.Secret()),
			http.MethodGet, "/admin/stats", nil)
		require.NoError(t, err)
		return st.Totals.TryTimeouts
	}
	t.Fatalf("no gateway in %s", region)
	return 0
}

// The no-op fault paired with an expectation of harm must fail, and on an
// invalid verdict (not an unknown one): availability, judged on a real
// world that nothing harmed, is valid, so the expectation of harm is
// invalid. Proof that the checkers can fail against the real world.
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
	requireHealed(t, e.Cluster)
	require.Equal(t, history.StatusFailed, out.Status, "a harmless run passed a check that expected harm")
	harm := requireVerdict(t, out, "expect-harm(availability)", history.VerdictInvalid)
	require.Len(t, harm.Children, 1)
	require.Equal(t, history.VerdictValid, harm.Children[0].Valid, "availability on a harmless run: %s", harm.Children[0].Reason)
}

// TestGlobalScenarios runs the scenarios written for the global profile
// (three regions) as TestScenarios runs the others, on a global world of
// their own (-short: the Short ones), on the local backend. It takes the
// shared default world down first: two worlds on one small machine compete
// for its cores, and a run's latency and availability would measure the
// other world's load. It is the binary's last test (a test after it would
// bring the shared world up again).
func TestGlobalScenarios(t *testing.T) {
	timed(t)
	specs := ofProfile(All(), "global")
	require.NotEmpty(t, specs)
	spec, err := topology.Profile("global")
	require.NoError(t, err)
	shared.Release(t)
	w := worldtest.StartEvenShort(t, "test-global", spec)
	runScenarios(t, specs, func(t *testing.T, name string) *Env { return envOn(w, t, name) })
}
