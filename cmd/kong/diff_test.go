package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureRun copies a run's artifacts from the reports test data.
func fixtureRun(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "reports", "testdata", name)
	dir := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
	return dir
}

func TestReportWritesEveryFormat(t *testing.T) {
	k := newKongCLI(t)
	dir := fixtureRun(t, "failed-run")
	out, err := k.run("report", dir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "wrote report.json, report.md, junit.xml, report.html in "+dir)
	for _, f := range []string{"report.json", "report.md", "junit.xml", "report.html"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.NotZero(t, fi.Size(), f)
	}
}

func TestDiffCommand(t *testing.T) {
	k := newKongCLI(t)
	a := fixtureRun(t, "failed-run")
	out, err := k.run("diff", a, a)
	require.NoError(t, err, out)
	assert.Regexp(t, `Replication lag p99 +180\.5 ms +180\.5 ms +\+0\.0 ms +\+0\.0%\n`, out)
	assert.Regexp(t, `Visible at the read, 95 % lower bound +96\.520% +96\.520%`, out, "the replication check's share is diffed with its bounds")
	assert.Contains(t, out, "\nno regression\n")

	// B: the same run with a slower replication (its report.json says so;
	// A has none and is built from its artifacts).
	b := fixtureRun(t, "failed-run")
	rep := filepath.Join(b, "replication.json")
	raw, err := os.ReadFile(rep)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(rep, []byte(strings.Replace(string(raw), `"p99_ms": 180.5`, `"p99_ms": 420`, 1)), 0o644))
	out, err = k.run("report", b)
	require.NoError(t, err, out)
	require.NoError(t, os.Remove(filepath.Join(b, "history.jsonl")), "B is read from report.json")

	out, err = k.run("diff", a, b)
	require.NoError(t, err, "without --fail-on-regression the exit status is 0: %s", out)
	assert.Regexp(t, `Replication lag p99 +180\.5 ms +420\.0 ms +\+239\.5 ms +\+132\.7% +REGRESSION`, out)
	assert.Contains(t, out, "\n1 regression\n")

	out, err = k.run("diff", "--fail-on-regression", a, b)
	require.Error(t, err)
	assert.Contains(t, out, "regressed from "+a+" (1 flagged REGRESSION above)")

	out, err = k.run("diff", a, filepath.Join(t.TempDir(), "absent"))
	require.Error(t, err)
	assert.Contains(t, out, "run B: report:")
}
