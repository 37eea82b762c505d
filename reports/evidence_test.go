package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/internal/pagetest"
)

// A run whose writes of seconds 10 and 11 were late by up to 12 s, while
// node b's MutationStage backed up, it dropped messages and paused for GC;
// the other seconds were quiet.
func tailRun() *history.Replication {
	rl := &history.Replication{Samples: 3000, VisibleAtRead: 0.99}
	for s := range 30 {
		sec := history.LagSecond{Second: s, Written: 100}
		if s == 10 || s == 11 {
			sec.Late, sec.MaxLagMs = 15, 12_000
		}
		rl.Timeline = append(rl.Timeline, sec)
	}
	ev := &history.NodeEvidence{IntervalMs: 2000, Source: "virtual tables"}
	for at := 0.0; at < 30; at += 2 {
		a := history.NodeSample{At: at, Node: "us-west-2/cassandra/a", MutationPending: 1, Dropped: 5}
		b := history.NodeSample{At: at + 0.01, Node: "us-west-2/cassandra/b", MutationPending: 2, Dropped: 100}
		if at >= 10 && at < 20 {
			b.MutationPending, b.HintFiles = 400, 3
			b.Dropped = 100 + int64(at-8)*50 // 100 more dropped each round
		}
		if at >= 20 {
			b.Dropped = 700
		}
		ev.Samples = append(ev.Samples, a, b)
	}
	ev.GC = []history.GCPause{{At: 12.5, Node: "us-west-2/cassandra/b", Ms: 850, Collector: "G1 Old Generation"}}
	ev.LogsRead = 2
	rl.Evidence = ev
	return rl
}

func TestTailEvidenceMatchesTheLateSecondsToWhatTheNodesSaid(t *testing.T) {
	tail, rest, ok := tailEvidence(tailRun())
	require.True(t, ok)
	// Seconds 8 (2 s before the first late one) to 23 (11 + 12 s of lag).
	assert.Equal(t, 16, tail.Seconds)
	assert.Equal(t, 14, rest.Seconds)
	assert.Equal(t, 30, tail.Late)
	assert.Zero(t, rest.Late)
	assert.Equal(t, 12_000.0, tail.MaxLagMs)
	assert.Equal(t, int64(400), tail.MutationPending)
	assert.Equal(t, int64(2), rest.MutationPending)
	assert.Equal(t, int64(3), tail.HintFiles)
	assert.Equal(t, int64(600), tail.Dropped, "node b's drops in the tail")
	assert.Zero(t, rest.Dropped)
	assert.Equal(t, 1, tail.GCPauses)
	assert.Equal(t, 850.0, tail.GCLongestMs)
	assert.Zero(t, rest.GCPauses)

	_, _, ok = tailEvidence(&history.Replication{Timeline: tailRun().Timeline})
	assert.False(t, ok, "no evidence: nothing to match")
}

func TestDroppedDeltasSurviveARestartedNode(t *testing.T) {
	got := droppedDeltas([]history.NodeSample{{Node: "a", Dropped: 10}, {Node: "b", Dropped: 3}, {Node: "a", Dropped: 15}, {Node: "a", Dropped: 2}})
	assert.Equal(t, []int64{0, 0, 5, 2}, got, "first samples add nothing; a count that fell counts from zero")
}

func TestEvidenceInTheReports(t *testing.T) {
	r, _ := build(t, failedRun)
	r.Replication = tailRun()
	tab := evidenceTable(r)
	require.Len(t, tab.Rows, 2)
	assert.Equal(t, []string{"around the late writes", "16", "30", "12000", "400", "3", "600", "1 (longest 850 ms)", "0"}, tab.Rows[0])
	assert.Equal(t, "the other seconds", tab.Rows[1][0])

	page := htmlOf(t, r)
	svg := pagetest.Charts(page)["chart-replication-evidence"]
	require.NotEmpty(t, svg, "the evidence chart")
	for _, legend := range []string{"longest lag measured", "late at the read", "MutationStage pending", "dropped (all nodes)", "GC pause logged"} {
		assert.Contains(t, svg, ">"+legend+"<", legend)
	}
	assert.True(t, strings.Contains(page, "<h3>The nodes' evidence</h3>"), "the evidence table's heading")

	var md bytes.Buffer
	require.NoError(t, EncodeMarkdown(&md, r))
	assert.Contains(t, md.String(), "### The nodes' evidence")
	assert.Contains(t, md.String(), "| around the late writes | 16 | 30 | 12000 | 400 | 3 | 600 | 1 (longest 850 ms) | 0 |")

	// No late record: one row for the whole run.
	quiet := tailRun()
	for i := range quiet.Timeline {
		quiet.Timeline[i].Late, quiet.Timeline[i].MaxLagMs = 0, 0
	}
	r.Replication = quiet
	tab = evidenceTable(r)
	require.Len(t, tab.Rows, 1)
	assert.True(t, strings.HasPrefix(tab.Rows[0][0], "whole run"), tab.Rows[0][0])
	assert.Equal(t, "30", tab.Rows[0][1])

	// A node whose logs could not be read: its GC pauses are unknown, not
	// absent.
	quiet.Evidence.LogsRead = 1
	assert.True(t, strings.Contains(htmlOf(t, r), "The logs of 1 of the 2 nodes could not be read: their GC pauses are unknown."))

	// Not sampled: the chart still draws the lag, and says so.
	quiet.Evidence = nil
	assert.True(t, strings.Contains(htmlOf(t, r), "evidence was not sampled in this run."), "the chart says the evidence was not sampled")
	assert.Empty(t, evidenceTable(r).Rows)
}
