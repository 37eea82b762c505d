package gameday

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/index"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
)

// shelf is a backend whose world is only a flag: the game day's ownership
// of a world is what is under test, not a world.
type shelf struct {
	up         bool
	ups, downs int
}

func (*shelf) Name() string { return "shelf" }

func (s *shelf) Up(context.Context, string, *topology.Spec, topology.UpOptions) (topology.Started, error) {
	s.up = true
	s.ups++
	return topology.Started{}, nil
}

func (s *shelf) Attach(_ context.Context, world string) (topology.Cluster, func(), error) {
	if !s.up {
		return nil, nil, fmt.Errorf("world %s: %w", world, topology.ErrNotUp)
	}
	return nil, func() {}, nil
}

func (s *shelf) Down(context.Context, string, time.Duration) error {
	if !s.up {
		return topology.ErrNotUp
	}
	s.up = false
	s.downs++
	return nil
}

func (s *shelf) Worlds(context.Context) ([]string, error) {
	if s.up {
		return []string{"w"}, nil
	}
	return nil, nil
}

func (*shelf) Logs(context.Context, io.Writer, string, string, int) error { return nil }
func (*shelf) Status(context.Context, io.Writer, string) error            { return nil }

// writeRun writes the folder of a run under out, as the runner does.
func writeRun(t *testing.T, out, scenario string, started time.Time, status history.Status) string {
	t.Helper()
	dir := filepath.Join(out, scenario+"-"+started.UTC().Format("20060102T150405.000Z"))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, history.SaveRunInfo(dir, history.RunInfo{Scenario: scenario, Started: started,
		Finished: started.Add(time.Minute), Status: status}))
	return dir
}

// options is a game day of the scenarios in verdicts on b, whose runs
// write their folders under out with those verdicts.
func options(t *testing.T, b topology.Backend, out string, verdicts map[string]history.Status, stdout *bytes.Buffer) Options {
	var suite []scenarios.Spec
	for _, name := range []string{"split-brain", "chaos-kong"} {
		suite = append(suite, scenarios.Spec{Name: name, Description: "the " + name + " scenario"})
	}
	return Options{Scenarios: suite, Backend: b, World: "w", Out: out, Stdout: stdout, Stderr: stdout,
		Up:   func(ctx context.Context) error { _, err := b.Up(ctx, "w", nil, topology.UpOptions{}); return err },
		Lock: func() (func(), error) { return func() {}, nil },
		Run: func(_ context.Context, _ int, s scenarios.Spec, _ topology.Cluster, _ uint64) (Ran, error) {
			st := verdicts[s.Name]
			return Ran{Status: st, Dir: writeRun(t, out, s.Name, time.Now(), st)}, nil
		}}
}

// A game day that finds no world brings one up, runs the suite on it,
// writes the index, and takes the world down at the end; KONG_KEEP=1 keeps
// it when a scenario did not hold.
func TestRunOwnsTheWorldItBroughtUp(t *testing.T) {
	b, out := &shelf{}, filepath.Join(t.TempDir(), "kong-reports")
	var stdout bytes.Buffer
	res, err := Run(context.Background(), options(t, b, out, map[string]history.Status{
		"split-brain": history.StatusPassed, "chaos-kong": history.StatusPassed}, &stdout))
	require.NoError(t, err)
	assert.Equal(t, 1, res.Rounds)
	assert.Equal(t, 1, b.ups)
	assert.Equal(t, 1, b.downs, "the world it brought up is taken down")
	assert.Contains(t, stdout.String(), "[2/2] chaos-kong: the chaos-kong scenario")
	assert.Contains(t, stdout.String(), "game day: all 2 scenarios held")
	assert.Contains(t, stdout.String(), "world w is down")
	assert.FileExists(t, filepath.Join(out, index.HTMLFile))

	t.Setenv("KONG_KEEP", "1")
	stdout.Reset()
	res, err = Run(context.Background(), options(t, b, out, map[string]history.Status{
		"split-brain": history.StatusFailed, "chaos-kong": history.StatusPassed}, &stdout))
	require.EqualError(t, err, "game day: 1 of 2 scenarios did not hold: split-brain")
	assert.True(t, res.Broken, "a verdict did not hold")
	assert.True(t, b.up, "KONG_KEEP=1 keeps the world")
	assert.Contains(t, stdout.String(), "KONG_KEEP=1: world w stays up for debugging (kong status --backend shelf --world w; kong down --backend shelf --world w)")

	// A world it found is someone else's: it stays up whatever happened.
	stdout.Reset()
	res, err = Run(context.Background(), options(t, b, out, map[string]history.Status{
		"split-brain": history.StatusAborted, "chaos-kong": history.StatusPassed}, &stdout))
	require.Error(t, err)
	assert.False(t, res.Broken, "an aborted run is not a verdict")
	assert.Equal(t, 2, b.ups)
	assert.True(t, b.up)
}

// A scheduled game day brings a world it owns up again when it died
// between rounds.
func TestRoundsBringTheirWorldUpAgain(t *testing.T) {
	b, out := &shelf{}, filepath.Join(t.TempDir(), "kong-reports")
	var stdout bytes.Buffer
	o := options(t, b, out, map[string]history.Status{"split-brain": history.StatusPassed, "chaos-kong": history.StatusPassed}, &stdout)
	o.Schedule, o.Rounds, o.Keep = Every(time.Hour), 2, true
	clk := &fakeClock{now: t0}
	o.Clock = clk
	run := o.Run
	o.Run = func(ctx context.Context, i int, s scenarios.Spec, c topology.Cluster, seed uint64) (Ran, error) {
		if i == 1 {
			b.up = false // the world dies during the first round
		}
		return run(ctx, i, s, c, seed)
	}
	res, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, 2, res.Rounds)
	assert.Equal(t, 2, b.ups)
	assert.Contains(t, stdout.String(), "world w is gone (world w: world is not up): bringing it up again")
	assert.Contains(t, stdout.String(), "scheduled game day: 2 rounds ran, the last one held")
	assert.NotContains(t, stdout.String(), "is down", "--keep keeps it")
}

// After a round, --keep-runs leaves the newest runs of --out and an index of
// them; without it, every run stays.
func TestKeepRunsPrunesAfterARound(t *testing.T) {
	out := filepath.Join(t.TempDir(), "kong-reports")
	var runs []string
	for _, ago := range []time.Duration{3 * time.Hour, 2 * time.Hour, time.Hour, time.Minute} {
		runs = append(runs, filepath.Base(writeRun(t, out, "split-brain", time.Now().Add(-ago), history.StatusPassed)))
	}
	require.NoError(t, index.Write(out))
	var stdout, stderr bytes.Buffer
	pruneRuns(&stdout, &stderr, out, 0)
	assert.Empty(t, stdout.String())
	for _, r := range runs {
		assert.DirExists(t, filepath.Join(out, r))
	}

	pruneRuns(&stdout, &stderr, out, 2)
	assert.Empty(t, stderr.String())
	assert.Contains(t, stdout.String(), "--keep-runs 2: removed the 2 oldest runs of "+out+" (oldest "+runs[0]+"); index rewritten")
	assert.NoDirExists(t, filepath.Join(out, runs[0]))
	assert.NoDirExists(t, filepath.Join(out, runs[1]))
	assert.DirExists(t, filepath.Join(out, runs[2]))
	assert.DirExists(t, filepath.Join(out, runs[3]))
	page, err := os.ReadFile(filepath.Join(out, index.HTMLFile))
	require.NoError(t, err)
	assert.NotContains(t, string(page), runs[0])
	assert.Contains(t, string(page), runs[3])

	// A folder it must not touch: said, and the round goes on.
	stdout.Reset()
	pruneRuns(&stdout, &stderr, t.TempDir(), 2)
	assert.Contains(t, stderr.String(), "keep-runs: ")
	assert.Contains(t, stderr.String(), "is not a kong reports folder")

	assert.NoError(t, CheckKeepRuns(0, 9))
	assert.NoError(t, CheckKeepRuns(9, 9))
	assert.ErrorContains(t, CheckKeepRuns(3, 9), "--keep-runs 3 is fewer than the 9 scenarios of a round")
	assert.ErrorContains(t, CheckKeepRuns(-1, 9), "--keep-runs -1")
}
