package prune

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/index"
)

// pruneFolder makes a reports folder with runs of various ages (counted
// back from now), a run in progress, and things that are not runs: a
// folder, a hidden run, a file, a link to a run elsewhere and a folder
// whose run.json is a link. It writes the index and returns the folder and
// the run that the link points to.
func pruneFolder(t *testing.T, now time.Time) (out, outside string) {
	t.Helper()
	out = filepath.Join(t.TempDir(), "kong-reports")
	require.NoError(t, os.MkdirAll(out, 0o755))
	run := func(dir, scenario string, ago time.Duration) string {
		started := now.Add(-ago)
		name := scenario + "-" + started.UTC().Format("20060102T150405Z")
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(p, 0o755))
		require.NoError(t, history.SaveRunInfo(p, history.RunInfo{Scenario: scenario, Seed: 1, Started: started,
			Finished: started.Add(10 * time.Minute), Status: history.StatusPassed}))
		return name
	}
	day := 24 * time.Hour
	run(out, "chaos-kong", 9*day)
	run(out, "split-brain", 5*day)
	run(out, "chaos-kong", 2*day)
	run(out, "split-brain", 12*time.Hour)

	// A real run, recorded long ago (March 2025).
	require.NoError(t, os.CopyFS(filepath.Join(out, "split-brain-demo-20250314T090000Z"), os.DirFS("../testdata/failed-run")))

	// A run in progress: its history only, being written now.
	live := filepath.Join(out, "chaos-kong-"+now.Add(-5*time.Minute).UTC().Format("20060102T150405Z"))
	require.NoError(t, os.MkdirAll(live, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(live, history.HistoryFile), nil, 0o644))

	// Not runs.
	require.NoError(t, os.MkdirAll(filepath.Join(out, "not-a-run"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "not-a-run", "notes.txt"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(out, "notes.txt"), []byte("x"), 0o644))
	hidden := run(out, "hidden", 30*day)
	require.NoError(t, os.Rename(filepath.Join(out, hidden), filepath.Join(out, ".old")))
	elsewhere := t.TempDir()
	outside = filepath.Join(elsewhere, run(elsewhere, "outside", 30*day))
	require.NoError(t, os.Symlink(outside, filepath.Join(out, "linked-run-20200101T000000Z")))
	fake := filepath.Join(out, "linked-file-20200101T000000Z")
	require.NoError(t, os.MkdirAll(fake, 0o755))
	require.NoError(t, os.Symlink(filepath.Join(outside, history.RunInfoFile), filepath.Join(fake, history.RunInfoFile)))

	require.NoError(t, index.Write(out))
	return out, outside
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func prunedDirs(res Result) []string {
	var dirs []string
	for _, r := range res.Removed {
		dirs = append(dirs, r.Dir)
	}
	return dirs
}

func TestPruneOlderThan(t *testing.T) {
	now := time.Now()
	out, outside := pruneFolder(t, now)
	before := entries(t, out)
	nine := "chaos-kong-" + now.Add(-9*24*time.Hour).UTC().Format("20060102T150405Z")
	five := "split-brain-" + now.Add(-5*24*time.Hour).UTC().Format("20060102T150405Z")
	old := "split-brain-demo-20250314T090000Z"

	// A dry run says what would go and touches nothing.
	written, err := os.ReadFile(filepath.Join(out, index.MarkdownFile))
	require.NoError(t, err)
	res, err := Folder(out, Options{OlderThan: 72 * time.Hour, Now: now, DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, []string{old, nine, five}, prunedDirs(res), "oldest first")
	assert.Equal(t, 3, res.Kept, "two recent runs and the one in progress")
	assert.Equal(t, before, entries(t, out))
	again, err := os.ReadFile(filepath.Join(out, index.MarkdownFile))
	require.NoError(t, err)
	assert.Equal(t, string(written), string(again))
	assert.Contains(t, string(written), nine)

	res, err = Folder(out, Options{OlderThan: 72 * time.Hour, Now: now})
	require.NoError(t, err)
	assert.Equal(t, []string{old, nine, five}, prunedDirs(res))
	assert.Equal(t, 3, res.Kept)
	after := entries(t, out)
	for _, gone := range []string{old, nine, five} {
		assert.NotContains(t, after, gone)
	}
	// Only those went: the other runs and everything that is not a run stay.
	assert.Len(t, after, len(before)-3)
	for _, stays := range []string{"not-a-run", "notes.txt", ".old", "linked-run-20200101T000000Z", "linked-file-20200101T000000Z"} {
		assert.Contains(t, after, stays)
	}
	_, err = os.Stat(filepath.Join(outside, history.RunInfoFile))
	assert.NoError(t, err, "the run a link points to is untouched")

	// The index lists the runs that stay and links to no removed run.
	runs, err := index.Load(out)
	require.NoError(t, err)
	md, err := os.ReadFile(filepath.Join(out, index.MarkdownFile))
	require.NoError(t, err)
	page, err := os.ReadFile(filepath.Join(out, index.HTMLFile))
	require.NoError(t, err)
	assert.Contains(t, string(md), "3 runs in kong-reports")
	for _, e := range runs {
		assert.Contains(t, string(md), "["+e.Dir+"]("+e.Dir+"/")
	}
	for _, gone := range []string{old, nine, five} {
		assert.NotContains(t, string(md), gone)
		assert.NotContains(t, string(page), gone)
	}
}

func TestPruneKeep(t *testing.T) {
	now := time.Now()
	out, _ := pruneFolder(t, now)
	two := "chaos-kong-" + now.Add(-2*24*time.Hour).UTC().Format("20060102T150405Z")
	twelve := "split-brain-" + now.Add(-12*time.Hour).UTC().Format("20060102T150405Z")
	live := "chaos-kong-" + now.Add(-5*time.Minute).UTC().Format("20060102T150405Z")

	res, err := Folder(out, Options{Keep: 3, Now: now})
	require.NoError(t, err)
	assert.Len(t, res.Removed, 3)
	assert.Equal(t, 3, res.Kept)
	runs, err := index.Load(out)
	require.NoError(t, err)
	var dirs []string
	for _, e := range runs {
		dirs = append(dirs, e.Dir)
	}
	assert.ElementsMatch(t, []string{live, twelve, two}, dirs, "the three newest stay, the run in progress among them")

	// Pruning again removes nothing and keeps the index.
	res, err = Folder(out, Options{Keep: 3, Now: now})
	require.NoError(t, err)
	assert.Empty(t, res.Removed)
	assert.Equal(t, 3, res.Kept)
}

func TestPruneKeepAndOlderThanKeepEitherWay(t *testing.T) {
	now := time.Now()
	out, _ := pruneFolder(t, now)
	// Keep 1 alone would remove five runs, older than 6 days alone two: with
	// both, only the runs neither keeps go.
	res, err := Folder(out, Options{Keep: 1, OlderThan: 6 * 24 * time.Hour, Now: now, DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"split-brain-demo-20250314T090000Z", "chaos-kong-" + now.Add(-9*24*time.Hour).UTC().Format("20060102T150405Z")},
		prunedDirs(res))
	assert.Equal(t, 4, res.Kept)
}

func TestPruneRefusesWhatIsNotAReportsFolder(t *testing.T) {
	now := time.Now()
	out, _ := pruneFolder(t, now)
	run := filepath.Join(out, "split-brain-demo-20250314T090000Z")
	before := entries(t, run)
	_, err := Folder(run, Options{Keep: 1})
	assert.ErrorContains(t, err, "is a run's folder, not a reports folder")
	assert.Equal(t, before, entries(t, run))

	// A folder with no run and no index of kong's.
	other := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(other, "photos"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(other, index.MarkdownFile), []byte("# My notes\n"), 0o644))
	_, err = Folder(other, Options{Keep: 1})
	assert.ErrorContains(t, err, "is not a kong reports folder")
	assert.Equal(t, []string{index.MarkdownFile, "photos"}, entries(t, other))

	_, err = Folder(filepath.Join(out, "notes.txt"), Options{Keep: 1})
	assert.ErrorContains(t, err, "is not a folder")
	_, err = Folder(filepath.Join(out, "absent"), Options{Keep: 1})
	assert.ErrorIs(t, err, os.ErrNotExist)

	// Options that say nothing, or nonsense.
	_, err = Folder(out, Options{})
	assert.ErrorContains(t, err, "say which runs go")
	_, err = Folder(out, Options{Keep: -1})
	assert.ErrorContains(t, err, "keep -1 runs?")
	_, err = Folder(out, Options{OlderThan: -time.Hour})
	assert.ErrorContains(t, err, "give a positive age")

	// An empty reports folder (its index only) is one: nothing to remove.
	empty := t.TempDir()
	require.NoError(t, index.Write(empty))
	res, err := Folder(empty, Options{Keep: 1})
	require.NoError(t, err)
	assert.Empty(t, res.Removed)
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"72h": 72 * time.Hour, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute,
		" 2d ": 48 * time.Hour, "0d30m": 30 * time.Minute,
	} {
		got, err := ParseAge(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0", "0d", "d", "-1d", "1.5d", "7days", "1d-2h", "-3h", "soon"} {
		_, err := ParseAge(in)
		assert.Error(t, err, in)
	}
}
