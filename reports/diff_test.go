package reports

import (
	"bytes"
	"testing"

	"github.com/kongchaos/kong/harness/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	a, _ := build(t, failedRun)
	b := laterRun(t)
	d := Diff(a, b)
	require.Len(t, d.Figures, len(KeyFigureDefs))

	rep := change(t, d, KeyReplicationP99)
	assert.Equal(t, 180.5, *rep.A)
	assert.Equal(t, 250.0, *rep.B)
	assert.InDelta(t, 69.5, *rep.Delta, 1e-9)
	assert.InDelta(t, 69.5/180.5, *rep.Relative, 1e-9)
	assert.True(t, rep.Regression, "replication lag p99 up by 39%")

	conv := change(t, d, KeyConvergence)
	assert.InDelta(t, -0.5, *conv.Delta, 1e-9)
	assert.False(t, conv.Regression)
	assert.True(t, conv.Improvement)

	av := change(t, d, KeyAvailabilityFault)
	assert.Equal(t, 0.0, *av.Delta)
	assert.False(t, av.Regression || av.Improvement)

	// failed -> passed, invalid checkers -> valid: no regression there.
	assert.False(t, d.StatusRegression)
	require.Len(t, d.Checkers, 3)
	assert.Equal(t, CheckerChange{Checker: "availability", A: history.VerdictInvalid, B: history.VerdictValid}, d.Checkers[0])
	assert.Equal(t, 1, d.Regressions())
	assert.True(t, change(t, d, KeyConvergence).Improvement)

	var buf bytes.Buffer
	require.NoError(t, d.Encode(&buf, "kong-reports/split-brain-demo-20250314T090000Z", "kong-reports/split-brain-demo-20250315T090000Z"))
	golden(t, "diff.txt", buf.String())

	// The other way round: the status and the checkers regress, the
	// convergence time too; the replication lag improves.
	d = Diff(b, a)
	assert.True(t, d.StatusRegression)
	assert.True(t, change(t, d, KeyConvergence).Regression, "0.75 s -> 1.25 s")
	assert.True(t, change(t, d, KeyReplicationP99).Improvement)
	assert.Equal(t, 1+1+3, d.Regressions(), "status, convergence, three checkers no longer valid")
	buf.Reset()
	require.NoError(t, d.Encode(&buf, "B", "A"))
	assert.Contains(t, buf.String(), "status: PASSED -> FAILED  REGRESSION")
	assert.Contains(t, buf.String(), "  availability: valid -> invalid  REGRESSION")
	assert.Contains(t, buf.String(), "  latency: valid -> unknown  REGRESSION")
	assert.Contains(t, buf.String(), "  shedding: valid -> invalid  REGRESSION")
	assert.Contains(t, buf.String(), "\n5 regressions\n")
}

// A change within a figure's tolerance is noise, not a regression.
func TestDiffTolerances(t *testing.T) {
	def := func(key string) KeyFigureDef {
		for _, d := range KeyFigureDefs {
			if d.Key == key {
				return d
			}
		}
		t.Fatalf("no figure %s", key)
		return KeyFigureDef{}
	}
	for _, c := range []struct {
		key        string
		a, b       float64
		regression bool
		better     bool
	}{
		{KeyReplicationP99, 180, 190, false, false}, // +5.6%
		{KeyReplicationP99, 180, 200, true, false},  // +11%
		{KeyReplicationP99, 0.5, 1.2, false, false}, // +140% but under 1 ms
		{KeyReplicationP99, 200, 150, false, true},
		{KeyAvailability, 0.9990, 0.9986, false, false}, // -0.04 pp
		{KeyAvailability, 0.9990, 0.9980, true, false},  // -0.1 pp
		{KeyAvailabilityFault, 0.95, 0.99, false, true},
		{KeyConvergence, 2, 2.15, false, false}, // +0.15 s
		{KeyConvergence, 2, 3, true, false},
		{KeyConvergence, 0, 1, true, false}, // from nothing: the absolute bound alone
		{KeyShedRate, 0, 0.01, true, false},
		{KeyRequests, 100, 10, false, false}, // neutral
		{KeyTimeToEffect, 1, 10, false, false},
	} {
		got := compareFigure(def(c.key), ptr(c.a), ptr(c.b))
		assert.Equal(t, c.regression, got.Regression, "%s %v -> %v", c.key, c.a, c.b)
		assert.Equal(t, c.better, got.Improvement, "%s %v -> %v", c.key, c.a, c.b)
	}
	// Missing on one side: shown, never flagged.
	got := compareFigure(def(KeyReplicationP99), nil, ptr(500.0))
	assert.Nil(t, got.Delta)
	assert.False(t, got.Regression)
	got = compareFigure(def(KeyReplicationP99), ptr(0.0), ptr(5.0))
	assert.Nil(t, got.Relative, "no relative change from 0")
	assert.True(t, got.Regression)
}

func TestKeyFigures(t *testing.T) {
	r, _ := build(t, failedRun)
	got := map[string]*float64{}
	for _, f := range KeyFigures(r) {
		got[f.Key] = f.Value
	}
	// inject + observe: 4 + 28 requests, 25 ok (see TestBuildFailedRun for
	// observe; inject is 4 of 4 ok).
	require.NotNil(t, got[KeyAvailabilityFault])
	assert.InDelta(t, 25.0/32, *got[KeyAvailabilityFault], 1e-12)
	assert.InDelta(t, 11.0/16, *got[KeyAvailabilityFaultWorst], 1e-12, "us-east-1")
	assert.InDelta(t, 2.0/97, *got[KeyShedRate], 1e-12)
	assert.Equal(t, 180.5, *got[KeyReplicationP99])
	assert.Equal(t, 1.25, *got[KeyConvergence])
	assert.InDelta(t, 0.5, *got[KeyTimeToEffect], 1e-9)
	assert.InDelta(t, 0.5, *got[KeyTimeToHeal], 1e-9)
	assert.Equal(t, 97.0, *got[KeyRequests])
	assert.Equal(t, 12.0, *got[KeyLatencySteady])

	// Convergence from the convergence checker when run.json has no
	// figure; replication from run.json's figure when there is no
	// replication.json.
	r.Figures = map[string]float64{KeyReplicationP99: 90}
	r.Replication = nil
	r.Checkers = []history.Result{{Checker: "convergence", Valid: history.VerdictValid,
		Figures: map[string]float64{KeyConvergence: 3.5}}}
	got = map[string]*float64{}
	for _, f := range KeyFigures(r) {
		got[f.Key] = f.Value
	}
	assert.Equal(t, 3.5, *got[KeyConvergence])
	assert.Equal(t, 90.0, *got[KeyReplicationP99])
	assert.Nil(t, got[KeyRequests])
	assert.Nil(t, got[KeyShedRate])
}
