package scenarios

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness"
	"github.com/kongchaos/kong/internal/worldtest"
	"github.com/kongchaos/kong/reports"
)

// One real world serves every scenario of the test binary.
var shared worldtest.Shared

func TestMain(m *testing.M) { worldtest.RunShared(m, &shared, "test-scenarios", "small") }

func env(t *testing.T, name string) *Env {
	t.Helper()
	w := shared.Get(t)
	dir := filepath.Join(t.TempDir(), name)
	return &Env{Cluster: w, Dir: dir, Seed: 42, Replay: "kong run " + name + " --seed 42",
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
}

func TestSplitBrain(t *testing.T) {
	e := env(t, "split-brain")
	splitBrainTimes.Steady, splitBrainTimes.Observe, splitBrainTimes.Converge = 10*time.Second, 15*time.Second, 30*time.Second
	s, err := Get("split-brain")
	require.NoError(t, err)
	out, err := s.Run(context.Background(), e)
	require.NoError(t, err)
	for _, r := range out.Verdict.Children {
		t.Logf("%s: %s: %s", r.Checker, r.Valid, r.Reason)
	}
	require.Equal(t, "passed", out.Status, out.Reason)
	r, err := reports.Build(e.Dir)
	require.NoError(t, err)
	require.NoError(t, reports.WriteAll(e.Dir, r))
	for _, f := range []string{"history.jsonl", "run.json", "report.json", "report.md", "junit.xml"} {
		_, err := os.Stat(filepath.Join(e.Dir, f))
		require.NoError(t, err, "the run left no %s", f)
	}
	require.Len(t, r.Faults, 1)
	require.NotNil(t, r.Faults[0].TimeToEffectS, "the partition time to effect was not measured")
	require.NotNil(t, r.Faults[0].TimeToHealS, "the partition time to heal was not measured")
}

// The no-op fault paired with an expectation of harm must fail: proof that
// the checkers can fail against the real world.
func TestNoopFaultWithExpectedHarmFails(t *testing.T) {
	e := env(t, "noop")
	director, err := directorURL(context.Background(), e.Cluster)
	require.NoError(t, err)
	x := &harness.Experiment{
		Name: "noop", Seed: e.Seed, Dir: e.Dir, Log: e.Log,
		Workload: harness.WorkloadConfig{Director: director, Geos: e.Cluster.Spec().RegionNames(), Pacer: harness.Constant(20), Members: 50},
		Faults:   []harness.Fault{harness.Noop{}},
		Checkers: []harness.Checker{&harness.ExpectHarm{Inner: &harness.Availability{SLO: 0.999}}},
		Steady:   3 * time.Second, Observe: 5 * time.Second, Converge: 2 * time.Second,
	}
	out, err := x.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, "failed", out.Status, "a harmless run passed a check that expected harm")
}
