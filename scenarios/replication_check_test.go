package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/reports"
)

// replicationTestRecords is how many records the Go tests write (the game
// day writes replicationRecords).
const replicationTestRecords = 20_000

func replicationWorld(t *testing.T, name string) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("writes thousands of records across a real world; skipped with -short")
	}
	return env(t, name)
}

// replicationVerdict finds one checker's result.
func replicationVerdict(t *testing.T, out *run.Outcome, checker string) history.Result {
	t.Helper()
	for _, r := range out.Verdict.Children {
		if r.Checker == checker {
			return r
		}
	}
	t.Fatalf("no %s checker in the verdict", checker)
	return history.Result{}
}

// replicationLog logs a run's checkers and phases.log.
func replicationLog(t *testing.T, out *run.Outcome, dir string) {
	t.Helper()
	for _, r := range out.Verdict.Children {
		t.Logf("%s: %s: %s", r.Checker, r.Valid, r.Reason)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "phases.log"))
	t.Logf("phases.log:\n%s", b)
}

// The registered scenario on a healthy world: every record seen, at least
// 99 % at 500 ms, and a report with the replication section.
func TestReplicationCheck(t *testing.T) {
	e := replicationWorld(t, "replication-check")
	defer func(n int) { replicationRecords = n }(replicationRecords)
	replicationRecords = replicationTestRecords
	s, err := Get("replication-check")
	require.NoError(t, err)
	res, err := RunInDir(context.Background(), s, e)
	require.NoError(t, err)
	out := res.Outcome
	replicationLog(t, out, e.Dir)
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	assert.Equal(t, history.VerdictValid, replicationVerdict(t, out, "replication-complete").Valid)
	assert.Equal(t, history.VerdictValid, replicationVerdict(t, out, "replication-visible-at-read").Valid)

	require.NoError(t, res.ReportErr)
	r := res.Report
	require.NotNil(t, r.Replication, "the report has no replication section")
	rl := r.Replication
	t.Logf("replication: %d records, %.3f%% visible at 500 ms, %d missing, p50 %.1f ms p99 %.1f ms max %.1f ms, all visible after %.0f ms",
		rl.Samples, 100*rl.VisibleAtRead, rl.Missing, rl.P50, rl.P99, rl.Max, rl.AllVisibleAfterMs)
	assert.Equal(t, replicationTestRecords, rl.Samples)
	assert.Zero(t, rl.Missing)
	assert.GreaterOrEqual(t, rl.VisibleAtRead, 0.99)
	assert.NotEmpty(t, rl.Histogram)
	total := 0
	for _, b := range rl.Histogram {
		total += b.Count
	}
	assert.Equal(t, replicationTestRecords, total, "the histogram counts every record seen")
	assert.LessOrEqual(t, rl.P50, rl.P99)
	assert.LessOrEqual(t, rl.P99, rl.Max)
	assert.Positive(t, rl.AllVisibleAfterMs)
	ri, err := history.LoadRunInfo(e.Dir)
	require.NoError(t, err)
	assert.Equal(t, float64(replicationTestRecords), ri.Figures[history.FigReplicationSamples])
	assert.Positive(t, ri.Figures["replication.write_rate"])
	md, err := os.ReadFile(filepath.Join(e.Dir, reports.MarkdownFile))
	require.NoError(t, err)
	assert.Contains(t, string(md), "## Replication lag")
}

// The broken world: the links between the regions stay cut for the whole
// run, so no record can reach the other region before the deadline. The
// check must fail, and say why.
func TestReplicationCheckWithLinksCutFails(t *testing.T) {
	e := replicationWorld(t, "replication-check-links-cut")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := RunReplicationCheck(ctx, e, ReplicationOptions{Records: 2000, During: DuringSplitBrain, HoldFault: true,
		Deadline: 10 * time.Second, Steady: 2 * time.Second})
	require.NoError(t, err)
	replicationLog(t, out, e.Dir)
	require.Equal(t, history.StatusFailed, out.Status, "the check passed with the links cut for the whole run")
	c := replicationVerdict(t, out, "replication-complete")
	require.Equal(t, history.VerdictInvalid, c.Valid)
	require.Contains(t, c.Reason, "were never seen in")
	require.Contains(t, out.Reason, "replication-complete: invalid")
	sum := loadSummary(t, e.Dir)
	assert.Equal(t, 2000, sum.Samples)
	assert.Equal(t, 0.0, sum.VisibleAtRead, "a record crossed a cut link")
	assert.Equal(t, 2000, sum.Missing)
}

// A split brain while the records are written, healed after the last read:
// nothing is visible at 500 ms, and every record arrives after the heal
// (hinted handoff), which the check measures.
func TestReplicationCheckDuringSplitBrainConverges(t *testing.T) {
	e := replicationWorld(t, "replication-check-split-brain")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	out, err := RunReplicationCheck(ctx, e, ReplicationOptions{Records: 5000, During: DuringSplitBrain,
		Deadline: 5 * time.Minute, Steady: 2 * time.Second})
	require.NoError(t, err)
	replicationLog(t, out, e.Dir)
	require.Equal(t, history.StatusPassed, out.Status, out.Reason)
	sum := loadSummary(t, e.Dir)
	t.Logf("visible at 500 ms %.3f%%, all seen %.0f ms after the heal, lag p50 %.0f ms max %.0f ms",
		100*sum.VisibleAtRead, sum.SeenAfterConvergeMs, sum.P50, sum.Max)
	assert.Less(t, sum.VisibleAtRead, 0.01, "records crossed a cut link")
	assert.Zero(t, sum.Missing)
	assert.Positive(t, sum.SeenAfterConvergeMs)
}

func loadSummary(t *testing.T, dir string) history.Replication {
	t.Helper()
	s, err := history.LoadReplication(dir)
	require.NoError(t, err)
	return *s
}
