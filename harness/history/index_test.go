package history_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
)

func TestIndexHistoryPairing(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := &history.History{Ops: []history.Op{
		{Type: history.Invoke, Time: t0, Process: 1, Seq: 1, Op: history.OpWriteProfile, Key: "k", Session: "s", Version: 5},
		{Type: history.Invoke, Time: t0, Process: 2, Seq: 1, Op: history.OpReadProfile, Key: "k"},
		{Type: history.OK, Time: t0.Add(3 * time.Millisecond), Process: 2, Seq: 1, Region: "eu-west", Version: 4},
		{Type: history.Info, Time: t0.Add(9 * time.Millisecond), Process: 1, Seq: 1, Region: "us-east", Latency: 10 * time.Millisecond},
		{Type: history.OK, Time: t0.Add(20 * time.Millisecond), Process: 3, Seq: 7, Op: history.OpReadProfile, Latency: 5 * time.Millisecond},
		{Type: history.Invoke, Time: t0.Add(30 * time.Millisecond), Process: 4, Seq: 1, Op: history.OpReadProfile},
	}, Events: []history.Event{
		{Kind: history.PhaseStart, Time: t0.Add(10 * time.Millisecond), Name: "inject"},
		{Kind: history.PhaseStart, Time: t0.Add(-time.Second), Name: "steady-state"},
	}}
	x := history.NewIndex(h)
	require.Len(t, x.Operations, 4)
	assert.Equal(t, 1, x.Pending)
	assert.Equal(t, 1, x.Orphans)
	w := x.Operations[0]
	assert.Equal(t, history.Info, w.Type())
	assert.Equal(t, "k", w.Key())
	assert.Equal(t, "s", w.Session())
	assert.Equal(t, "us-east", w.Region())
	assert.Equal(t, int64(5), w.Version())
	assert.Equal(t, 10*time.Millisecond, w.Latency())
	rd := x.Operations[1]
	assert.True(t, rd.IsOK())
	assert.Equal(t, int64(4), rd.Version())
	assert.Equal(t, 3*time.Millisecond, rd.Latency())
	assert.Equal(t, "steady-state", x.PhaseOf(rd))
	orphan := x.Operations[2]
	assert.Nil(t, orphan.Invoke)
	assert.Equal(t, t0.Add(15*time.Millisecond), orphan.InvokeTime())
	assert.Equal(t, "inject", x.PhaseOf(orphan))
	assert.False(t, x.Operations[3].Completed())
	require.Len(t, x.Phases, 2)
	assert.Equal(t, "steady-state", x.Phases[0].Name)
	assert.Equal(t, x.Phases[1].Start, x.Phases[0].End)
	assert.True(t, x.Phases[1].End.IsZero())
	assert.Equal(t, "", x.PhaseAt(t0.Add(-time.Hour)))
}

func TestRegionPhasesInOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	x := history.NewIndex(&history.History{Events: []history.Event{
		{Kind: history.PhaseStart, Time: t0, Name: "steady-state"},
		{Kind: history.PhaseStart, Time: t0.Add(time.Second), Name: "inject"},
		{Kind: history.PhaseStart, Time: t0.Add(2 * time.Second), Name: "verify"},
	}})
	g := history.NewRegionPhases[int](x, nil)
	for _, k := range []history.RegionPhase{{"us-west", "inject"}, {"us-east", "inject"}, {"us-east", "steady-state"},
		{"us-east", "unplanned"}, {"us-west", "inject"}} {
		*g.At(k.Region, k.Phase)++
	}
	assert.Equal(t, 4, g.Len())
	assert.Equal(t, []string{"us-east", "us-west"}, g.Regions())
	assert.Equal(t, []string{"steady-state", "inject", "verify", "unplanned"}, g.Phases(), "the timeline's, then the others")
	assert.Nil(t, g.Get("us-west", "verify"))
	var got []history.RegionPhase
	var counts []int
	for k, n := range g.All() {
		got, counts = append(got, k), append(counts, *n)
	}
	assert.Equal(t, []history.RegionPhase{{"us-east", "steady-state"}, {"us-east", "inject"}, {"us-east", "unplanned"}, {"us-west", "inject"}}, got)
	assert.Equal(t, []int{1, 1, 1, 2}, counts)
}

// A request a stalled generator sent late belongs to the phase it was due
// in, not the one it was sent in.
func TestPhaseOfIsThePhaseOfTheIntendedTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := &history.History{Ops: []history.Op{
		// Due in inject, sent (and recorded) in observe.
		{Type: history.Invoke, Time: t0.Add(12 * time.Second), Due: t0.Add(9 * time.Second), Process: 1, Seq: 1, Op: history.OpReadProfile, Phase: "observe"},
		{Type: history.Fail, Time: t0.Add(12100 * time.Millisecond), Process: 1, Seq: 1},
		// No due time (a probe, an old history): the recorded phase.
		{Type: history.Invoke, Time: t0.Add(12 * time.Second), Process: 2, Seq: 1, Op: history.OpReadProfile, Phase: "observe"},
	}, Events: []history.Event{
		{Kind: history.PhaseStart, Time: t0, Name: "steady-state"},
		{Kind: history.PhaseStart, Time: t0.Add(5 * time.Second), Name: "inject"},
		{Kind: history.PhaseStart, Time: t0.Add(10 * time.Second), Name: "observe"},
	}}
	x := history.NewIndex(h)
	require.Len(t, x.Operations, 2)
	assert.Equal(t, t0.Add(9*time.Second), x.Operations[0].Due())
	assert.Equal(t, "inject", x.PhaseOf(x.Operations[0]))
	assert.Equal(t, "observe", x.PhaseOf(x.Operations[1]))
}
