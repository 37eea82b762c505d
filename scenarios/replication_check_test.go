package scenarios

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
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

// The registered check runs at the local pace on a local world, and at
// the pace GameDayReplicationOn names on a container world, saying so in
// its description.
func TestRegisteredReplicationCheckPaceFollowsTheBackend(t *testing.T) {
	var ran []ReplicationOptions
	var described []string
	local := func(_ context.Context, s Spec, _ *Env) (*run.Outcome, error) {
		ran, described = append(ran, GameDayReplication), append(described, s.Description)
		return &run.Outcome{}, nil
	}
	f := func(o ReplicationOptions) RunFunc {
		return func(_ context.Context, s Spec, _ *Env) (*run.Outcome, error) {
			ran, described = append(ran, o), append(described, s.Description)
			return &run.Outcome{}, nil
		}
	}
	r := onBackend(local, f)
	s := ReplicationCheckSpec(GameDayReplication)
	for _, backend := range []string{"", "local", "containers"} {
		_, err := r(context.Background(), s, &Env{Backend: backend})
		require.NoError(t, err)
	}
	want := GameDayReplicationOn["containers"]
	require.Equal(t, []ReplicationOptions{GameDayReplication, GameDayReplication, want}, ran)
	require.Contains(t, described[0], "paced at 1500 records/s, 16 to a write")
	require.Contains(t, described[2], "paced at 1000 records/s, 64 to a write")
	require.NotEqual(t, GameDayReplication, want)
}
