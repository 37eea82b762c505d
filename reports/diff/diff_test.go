package diff

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/reports/internal/fixture"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/diff.txt")

// failedRun is the report of the reports' failed-run fixture, built in a
// copy of it.
func failedRun(t *testing.T) *reports.Report {
	r, _ := fixture.Build(t, fixture.FailedRun)
	return r
}

// golden compares got with testdata/diff.txt, or rewrites it with -update.
func golden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", "diff.txt")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "go test ./reports/diff -update creates the golden file")
	assert.Equal(t, string(want), got, "diff.txt differs from the golden file (go test ./reports/diff -update rewrites it)")
}

func change(t *testing.T, d *RunDiff, key string) FigureChange {
	t.Helper()
	for _, f := range d.Figures {
		if f.Key == key {
			return f
		}
	}
	t.Fatalf("no figure %s", key)
	return FigureChange{}
}

func TestDiff(t *testing.T) {
	a, b := failedRun(t), fixture.Later(t)
	d := Compare(a, b)
	require.Len(t, d.Figures, len(reports.KeyFigureDefs)-1, "all but the degraded region's users, measured by neither run")

	rep := change(t, d, reports.KeyReplicationP99)
	assert.Equal(t, 180.5, *rep.A)
	assert.Equal(t, 250.0, *rep.B)
	assert.InDelta(t, 69.5, *rep.Delta, 1e-9)
	assert.InDelta(t, 69.5/180.5, *rep.Relative, 1e-9)
	assert.True(t, rep.Regression, "replication lag p99 up by 39%")

	conv := change(t, d, reports.KeyConvergence)
	assert.InDelta(t, -0.5, *conv.Delta, 1e-9)
	assert.False(t, conv.Regression)
	assert.True(t, conv.Improvement)

	av := change(t, d, reports.KeyAvailabilityFault)
	assert.Equal(t, 0.0, *av.Delta)
	assert.False(t, av.Regression || av.Improvement)
	judged := change(t, d, reports.KeyAvailabilityJudged)
	assert.InDelta(t, 0.9995-0.875, *judged.Delta, 1e-9)
	assert.True(t, judged.Improvement, "the judged availability rose to 99.95 %")

	// failed -> passed, invalid checkers -> valid: no regression there.
	assert.False(t, d.StatusRegression)
	require.Len(t, d.Checkers, 3)
	assert.Equal(t, CheckerChange{Checker: "availability", A: history.VerdictInvalid, B: history.VerdictValid}, d.Checkers[0])
	assert.Equal(t, 1, d.Regressions())
	assert.True(t, change(t, d, reports.KeyConvergence).Improvement)

	var buf bytes.Buffer
	require.NoError(t, d.Encode(&buf, "kong-reports/split-brain-demo-20250314T090000Z", "kong-reports/split-brain-demo-20250315T090000Z"))
	golden(t, buf.String())

	// The other way round: the status and the checkers regress, the
	// convergence time too; the replication lag improves.
	d = Compare(b, a)
	assert.True(t, d.StatusRegression)
	assert.True(t, change(t, d, reports.KeyConvergence).Regression, "0.75 s -> 1.25 s")
	assert.True(t, change(t, d, reports.KeyReplicationP99).Improvement)
	assert.True(t, change(t, d, reports.KeyAvailabilityJudged).Regression, "99.95 % -> 87.5 %")
	assert.Equal(t, 1+1+1+3, d.Regressions(), "status, convergence, judged availability, three checkers no longer valid")
	buf.Reset()
	require.NoError(t, d.Encode(&buf, "B", "A"))
	assert.Contains(t, buf.String(), "status: PASSED -> FAILED  REGRESSION")
	assert.Contains(t, buf.String(), "  availability: valid -> invalid  REGRESSION")
	assert.Contains(t, buf.String(), "  latency: valid -> unknown  REGRESSION")
	assert.Contains(t, buf.String(), "  shedding: valid -> invalid  REGRESSION")
	assert.Contains(t, buf.String(), "\n6 regressions\n")
}

// A change within a figure's tolerance is noise, not a regression.
func TestDiffTolerances(t *testing.T) {
	def := func(key string) reports.KeyFigureDef {
		for _, d := range reports.KeyFigureDefs {
			if d.Key == key {
				return d
			}
		}
		t.Fatalf("no figure %s", key)
		return reports.KeyFigureDef{}
	}
	for _, c := range []struct {
		key        string
		a, b       float64
		regression bool
		better     bool
	}{
		{reports.KeyReplicationP99, 180, 190, false, false}, // +5.6%
		{reports.KeyReplicationP99, 180, 200, true, false},  // +11%
		{reports.KeyReplicationP99, 0.5, 1.2, false, false}, // +140% but under 1 ms
		{reports.KeyReplicationP99, 200, 150, false, true},
		{reports.KeyAvailability, 0.9990, 0.9986, false, false}, // -0.04 pp
		{reports.KeyAvailability, 0.9990, 0.9980, true, false},  // -0.1 pp
		{reports.KeyAvailabilityFault, 0.95, 0.99, false, true},
		{reports.KeyAvailabilityJudged, 0.9995, 0.9992, false, false}, // -0.03 pp
		{reports.KeyAvailabilityJudged, 0.9995, 0.9950, true, false},
		{reports.KeyAvailabilityJudged, 0.95, 1, false, true},
		{reports.KeyAvailabilityJudgedSLO, 0.999, 0.99, false, false}, // neutral
		{reports.KeyConvergence, 2, 2.15, false, false},               // +0.15 s
		{reports.KeyConvergence, 2, 3, true, false},
		{reports.KeyConvergence, 0, 1, true, false}, // from nothing: the absolute bound alone
		{reports.KeyShedRate, 0, 0.01, true, false},
		{reports.KeyRequests, 100, 10, false, false}, // neutral
		{reports.KeyTimeToEffect, 1, 10, false, false},
	} {
		got := compareFigure(def(c.key), new(c.a), new(c.b))
		assert.Equal(t, c.regression, got.Regression, "%s %v -> %v", c.key, c.a, c.b)
		assert.Equal(t, c.better, got.Improvement, "%s %v -> %v", c.key, c.a, c.b)
	}
	// Missing on one side: shown, never flagged.
	got := compareFigure(def(reports.KeyReplicationP99), nil, new(500.0))
	assert.Nil(t, got.Delta)
	assert.False(t, got.Regression)
	got = compareFigure(def(reports.KeyReplicationP99), new(0.0), new(5.0))
	assert.Nil(t, got.Relative, "no relative change from 0")
	assert.True(t, got.Regression)
}
