package bench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
)

// world is a synthetic world whose knee depends on the batch size: with
// one record to a write it keeps its promise up to 1,500/s, with 16 up to
// 4,000/s; past its knee it either falls behind the rate or lets the share
// visible at the read drop.
func world(_ context.Context, s SweepStep) SweepResult {
	knee := 1500.0
	if s.Batch >= 16 {
		knee = 4000
	}
	sum := history.Replication{Samples: int(s.Rate * 30), ReadAfterMs: 500, WriteRate: s.Rate, VisibleAtRead: 0.999, VisibleAtReadLow: 0.995, P99: 120}
	switch {
	case s.Rate >= 2*knee:
		sum.WriteRate = knee * 1.1 // cannot keep up
	case s.Rate > knee:
		sum.VisibleAtRead, sum.VisibleAtReadLow, sum.P99 = 0.95, 0.94, 900
	}
	return SweepResult{Sum: sum, MachineCores: 1.5}
}

func TestSweepFindsTheKneeAndStopsEachBatchAtItsFirstFailure(t *testing.T) {
	var progress bytes.Buffer
	var ran []SweepStep
	sw := Sweep{Steps: SweepPlan([]int{1, 16}, []float64{8000, 1000, 2000, 4000}), MinShare: 0.99, Progress: &progress,
		Run: func(ctx context.Context, s SweepStep) SweepResult { ran = append(ran, s); return world(ctx, s) }}
	results := sw.Do(context.Background())
	assert.Equal(t, []SweepStep{{1000, 1}, {2000, 1}, {1000, 16}, {2000, 16}, {4000, 16}, {8000, 16}}, ran,
		"rates ascending; batch 1 stops at 2000/s, the first that does not hold")
	require.Len(t, results, 6)
	knee, ok := Knee(results, 0.99)
	require.True(t, ok)
	assert.Equal(t, SweepStep{4000, 16}, knee.Step)
	assert.Contains(t, progress.String(), "step 2000 records/s, 1 to a write: does not hold: 94.000% visible at 500 ms (95% lower bound), below 99.0%")
	assert.Contains(t, progress.String(), "step 8000 records/s, 16 to a write: does not hold: kept 4400/s of the 8000/s asked")

	var table bytes.Buffer
	WriteSweep(&table, results, 0.99)
	assert.Contains(t, table.String(), "| 16 | 4000/s | 4000/s | 0 | 99.500% | 99.900% | 0 | 0 ms | 120 ms | 0 ms | 1.50 cores | yes |")
	assert.Contains(t, table.String(), "knee: 4000 records/s kept, 16 to a write, with 99.500% visible at 500 ms (95% lower bound): a million records in 4m10s")
}

func TestSweepStepsThatFailOrFindNothing(t *testing.T) {
	r := SweepResult{Step: SweepStep{1000, 1}, Err: errors.New("world not up")}
	ok, why := r.Holds(0.99)
	assert.False(t, ok)
	assert.Equal(t, "world not up", why)
	missing := SweepResult{Step: SweepStep{1000, 1}, Sum: history.Replication{Samples: 10, WriteRate: 1000, VisibleAtReadLow: 1, Missing: 2}}
	_, why = missing.Holds(0.99)
	assert.Equal(t, "2 records missing", why)

	var table bytes.Buffer
	WriteSweep(&table, []SweepResult{r, missing}, 0.99)
	assert.Contains(t, table.String(), "| 1 | 1000/s | - |")
	assert.True(t, strings.HasSuffix(table.String(), "no step held 99.0% visible at the read: the knee is below the lowest rate tried\n"))

	// Ctrl-C ends the sweep.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Empty(t, Sweep{Steps: SweepPlan([]int{1}, []float64{1000}), Run: world}.Do(ctx))
}

func TestParseBatches(t *testing.T) {
	b, err := ParseBatches("1, 16,64")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 16, 64}, b)
	_, err = ParseBatches("1,3")
	assert.EqualError(t, err, `batch "3": records to a write, one of 1, 2, 4, 8, 16, 32 or 64`)
}

func TestParseRates(t *testing.T) {
	rates, err := ParseRates("1000, 2500,4e3")
	require.NoError(t, err)
	assert.Equal(t, []float64{1000, 2500, 4000}, rates)
	_, err = ParseRates("1000,fast")
	assert.EqualError(t, err, `rate "fast": give records per second above 0`)
	_, err = ParseRates("0")
	assert.Error(t, err)
}

func TestSweepStepRunnerReadsTheStepsSummary(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, history.SaveReplication(dir, history.Replication{Samples: 30_000, WriteRate: 1000, VisibleAtReadLow: 0.995}))
	run := Groups{}.SweepStepRunner(func(context.Context, SweepStep) (string, error) { return dir, nil })
	r := run(context.Background(), SweepStep{Rate: 1000, Batch: 1})
	require.NoError(t, r.Err)
	assert.Equal(t, 30_000, r.Sum.Samples)
	assert.Equal(t, dir, r.Dir)

	// A check that left no summary, and one that failed.
	r = Groups{}.SweepStepRunner(func(context.Context, SweepStep) (string, error) { return t.TempDir(), nil })(context.Background(), SweepStep{})
	assert.ErrorContains(t, r.Err, "replication.json")
	boom := errors.New("world is not up")
	r = Groups{}.SweepStepRunner(func(context.Context, SweepStep) (string, error) { return "", boom })(context.Background(), SweepStep{})
	assert.ErrorIs(t, r.Err, boom)
}

func TestReportSweepLeavesTheTableAndTheCurve(t *testing.T) {
	sw := Sweep{Steps: SweepPlan([]int{1, 16}, []float64{1000, 2000, 4000, 8000}), MinShare: 0.99, Run: world}
	results := sw.Do(context.Background())
	dir := filepath.Join(t.TempDir(), "sweep")
	var out bytes.Buffer
	require.NoError(t, ReportSweep(&out, dir, results, 0.99))
	assert.Contains(t, out.String(), "knee: 4000 records/s kept, 16 to a write")
	assert.Contains(t, out.String(), "sweep: "+filepath.Join(dir, SweepMarkdown))
	md, err := os.ReadFile(filepath.Join(dir, SweepMarkdown))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| 16 | 4000/s | 4000/s |")
	page, err := os.ReadFile(filepath.Join(dir, SweepPage))
	require.NoError(t, err)
	for _, legend := range []string{">1 to a write<", ">16 to a write<", ">99.0 % required<", ">lag p99 (ms)<"} {
		assert.True(t, strings.Contains(string(page), legend), "the curve has %s", legend)
	}
	assert.NotContains(t, string(page), "http://example", "nothing fetched")

	// Nothing ran (Ctrl-C before the first step): nothing to leave.
	none := filepath.Join(t.TempDir(), "none")
	require.NoError(t, ReportSweep(&out, none, nil, 0.99))
	assert.NoDirExists(t, none)
}
