package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
)

// A split brain while the records are written, healed after the last read:
// nothing is visible at 500 ms, and every record arrives after the heal
// (hinted handoff), which the check measures.
func TestReplicationCheckDuringSplitBrainConverges(t *testing.T) {
	full(t)
	e := env(t, "replication-check-split-brain")
	s := ReplicationCheckSpec(ReplicationOptions{Records: 5000, During: DuringSplitBrain, Deadline: 5 * time.Minute, Steady: 2 * time.Second})
	s.Timeout = 15 * time.Minute
	out, _ := runInDir(t, s, s.Run, e)
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
