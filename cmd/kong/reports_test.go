package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/index"
)

// reportsFolderOf makes a reports folder holding runs that started the
// given durations ago (each lasting a minute), with its index.
func reportsFolderOf(t *testing.T, agos ...time.Duration) (string, []string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "kong-reports")
	var names []string
	for _, ago := range agos {
		started := time.Now().Add(-ago)
		name := "split-brain-" + started.UTC().Format("20060102T150405Z")
		dir := filepath.Join(out, name)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, history.SaveRunInfo(dir, history.RunInfo{Scenario: "split-brain", Started: started,
			Finished: started.Add(time.Minute), Status: history.StatusPassed}))
		names = append(names, name)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(out, "keep-me"), 0o755))
	require.NoError(t, index.Write(out))
	return out, names
}

func runKong(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"--home", t.TempDir()}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestReportsPruneCommand(t *testing.T) {
	day := 24 * time.Hour
	out, runs := reportsFolderOf(t, 10*day, 8*day, 3*day, time.Hour)

	got, err := runKong(t, "reports", "prune", "--out", out, "--older-than", "7d", "--dry-run")
	require.NoError(t, err, got)
	assert.Contains(t, got, "would remove "+filepath.Join(out, runs[0])+" (started ")
	assert.Contains(t, got, "would remove "+filepath.Join(out, runs[1]))
	assert.Contains(t, got, "dry run: 2 of 4 runs would go, 2 would stay; nothing was removed")
	assert.DirExists(t, filepath.Join(out, runs[0]))

	got, err = runKong(t, "reports", "prune", "--out", out, "--older-than", "7d")
	require.NoError(t, err, got)
	assert.Contains(t, got, "removed "+filepath.Join(out, runs[0]))
	assert.Contains(t, got, "2 runs removed from "+out+", 2 stay; index rewritten")
	assert.NoDirExists(t, filepath.Join(out, runs[0]))
	assert.NoDirExists(t, filepath.Join(out, runs[1]))
	assert.DirExists(t, filepath.Join(out, "keep-me"))
	md, err := os.ReadFile(filepath.Join(out, index.MarkdownFile))
	require.NoError(t, err)
	assert.NotContains(t, string(md), runs[0])
	assert.Contains(t, string(md), runs[3])

	got, err = runKong(t, "reports", "prune", "--out", out, "--keep", "1")
	require.NoError(t, err, got)
	assert.Contains(t, got, "1 runs removed")
	assert.NoDirExists(t, filepath.Join(out, runs[2]))
	assert.DirExists(t, filepath.Join(out, runs[3]))

	got, err = runKong(t, "reports", "prune", "--out", out, "--keep", "1")
	require.NoError(t, err, got)
	assert.Contains(t, got, "nothing to remove from "+out+": 1 runs stay")

	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"reports", "prune", "--out", out}, "say which runs go: --keep N"},
		{[]string{"reports", "prune", "--out", out, "--keep", "0"}, "--keep 0: give 1 or more"},
		{[]string{"reports", "prune", "--out", out, "--older-than", "soon"}, `--older-than "soon": give an age such as 72h`},
		{[]string{"reports", "prune", "--out", filepath.Join(out, runs[3]), "--keep", "1"}, "is a run's folder, not a reports folder"},
		{[]string{"reports", "prune", "--out", t.TempDir(), "--keep", "1"}, "is not a kong reports folder"},
	} {
		_, err := runKong(t, c.args...)
		require.Error(t, err, c.args)
		assert.Contains(t, err.Error(), c.err, c.args)
	}
	assert.DirExists(t, filepath.Join(out, runs[3]))
}
