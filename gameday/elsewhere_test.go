package gameday

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/index"
	"github.com/kongchaos/kong/topology"
)

// elsewhere is a game day run elsewhere on b whose runs (verdicts, by
// scenario) are "copied" into out, and which exits with code.
func elsewhere(t *testing.T, b *shelf, out string, code int, verdicts map[string]history.Status, stdout *bytes.Buffer) Elsewhere {
	return Elsewhere{Backend: b, World: "w", Out: out, Stdout: stdout, Stderr: stdout,
		Up: func(ctx context.Context) error { _, err := b.Up(ctx, "w", nil, topology.UpOptions{}); return err },
		Run: func(context.Context) (int, []string, error) {
			require.True(t, b.up, "the game day runs on a world that is up")
			var copied []string
			for _, name := range []string{"split-brain", "chaos-kong"} {
				if st, ok := verdicts[name]; ok {
					// Copied in an order of their names, not of when they ran.
					copied = append([]string{filepath.Base(writeRun(t, out, name, time.Now(), st))}, copied...)
				}
			}
			return code, copied, nil
		}}
}

// A game day run elsewhere brings up the world it does not find, takes it
// down at the end, and indexes what it copied with the runs already there;
// one that finds the world leaves it up.
func TestElsewhereOwnsTheWorldItBroughtUp(t *testing.T) {
	b, out := &shelf{}, filepath.Join(t.TempDir(), "kong-reports")
	older := filepath.Base(writeRun(t, out, "chaos-monkey", time.Now().Add(-time.Hour), history.StatusPassed))
	var stdout bytes.Buffer
	away, err := RunElsewhere(context.Background(), elsewhere(t, b, out, 0,
		map[string]history.Status{"split-brain": history.StatusPassed, "chaos-kong": history.StatusPassed}, &stdout))
	require.NoError(t, err)
	assert.Zero(t, away.Code)
	assert.Empty(t, away.Failed)
	require.Len(t, away.Runs, 2)
	assert.Equal(t, "split-brain", away.Runs[0].Scenario, "the runs in the order they ran")
	assert.DirExists(t, away.Runs[1].Dir)
	assert.Equal(t, 1, b.ups)
	assert.Equal(t, 1, b.downs, "the world it brought up is taken down")
	assert.Contains(t, stdout.String(), "world w is down")
	assert.Contains(t, stdout.String(), "index of runs: "+filepath.Join(out, index.HTMLFile))
	page, err := readFile(filepath.Join(out, index.HTMLFile))
	require.NoError(t, err)
	assert.Contains(t, page, older, "the index lists the runs that were there before")
	assert.Contains(t, page, "chaos-kong-")

	// Found up: someone else's, left up whatever happened; the result
	// names what did not hold, from the runs copied.
	b.up = true
	stdout.Reset()
	away, err = RunElsewhere(context.Background(), elsewhere(t, b, out, 1,
		map[string]history.Status{"split-brain": history.StatusFailed, "chaos-kong": history.StatusPassed}, &stdout))
	require.NoError(t, err)
	assert.Equal(t, 1, away.Code)
	assert.Equal(t, []string{"split-brain"}, away.Failed)
	assert.True(t, away.Broken)
	assert.Equal(t, 1, b.ups, "a world found up is not brought up")
	assert.True(t, b.up, "nor taken down")
}

// KONG_KEEP=1 keeps a world the game day brought up when a scenario did
// not hold; --keep keeps it whatever happened; a game day that could not
// run is an error, and the world it brought up still goes.
func TestElsewhereKeepsOrTakesDown(t *testing.T) {
	b, out := &shelf{}, filepath.Join(t.TempDir(), "kong-reports")
	var stdout bytes.Buffer
	t.Setenv("KONG_KEEP", "1")
	away, err := RunElsewhere(context.Background(), elsewhere(t, b, out, 1,
		map[string]history.Status{"split-brain": history.StatusAborted}, &stdout))
	require.NoError(t, err)
	assert.False(t, away.Broken, "an aborted run is not a verdict")
	assert.True(t, b.up, "KONG_KEEP=1 keeps the world")
	assert.Contains(t, stdout.String(), "KONG_KEEP=1: world w stays up for debugging")

	b.up = false
	t.Setenv("KONG_KEEP", "")
	e := elsewhere(t, b, out, 0, nil, &stdout)
	e.Run = func(context.Context) (int, []string, error) { return 0, nil, errors.New("the run Job could not start") }
	_, err = RunElsewhere(context.Background(), e)
	require.EqualError(t, err, "the run Job could not start")
	assert.False(t, b.up, "the world it brought up is taken down")

	e = elsewhere(t, b, out, 3, nil, &stdout)
	e.Keep = true
	away, err = RunElsewhere(context.Background(), e)
	require.NoError(t, err)
	assert.Equal(t, 3, away.Code)
	assert.Equal(t, []string{"the game day (exit status 3)"}, away.Failed, "a game day that wrote no run still did not hold")
	assert.True(t, b.up, "--keep keeps it")

	// A world that cannot come up: nothing runs.
	b.up = false
	e = elsewhere(t, b, out, 0, nil, &stdout)
	e.Up = func(context.Context) error { return errors.New("port in use") }
	e.Run = func(context.Context) (int, []string, error) { t.Fatal("ran without a world"); return 0, nil, nil }
	_, err = RunElsewhere(context.Background(), e)
	require.EqualError(t, err, "port in use")
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
