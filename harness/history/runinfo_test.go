package history

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run.json round-trips through its one type, the generator report and the
// checkers' results included.
func TestRunInfoRoundTrip(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	in := RunInfo{Scenario: "split-brain", Backend: "local", Seed: 7, Started: start, Finished: start.Add(time.Minute),
		Status: StatusFailed, Reason: "availability: invalid",
		Checkers:  []Result{{Checker: "availability", Valid: VerdictInvalid, Reason: "97% < 99%"}},
		Figures:   map[string]float64{"convergence_seconds": 4},
		Generator: &GeneratorReport{Elapsed: time.Minute, Requested: 6000, Started: 5400, Late: 12, Kept: false, Reason: "started 90% of the requested operations"}}
	require.NoError(t, SaveRunInfo(dir, in))
	out, err := LoadRunInfo(dir)
	require.NoError(t, err)
	assert.Equal(t, in, out)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left beside run.json")
}

func TestReplicationRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := Replication{Samples: 1000, VisibleAtRead: 0.998, Missing: 1, P50: 2.5, Histogram: []LagBucket{{UpperMs: 5, Count: 700}},
		From: "us-east-1", To: "us-west-2", VisibleAtReadLow: 0.99, Method: "m"}
	require.NoError(t, SaveReplication(dir, in))
	out, err := LoadReplication(dir)
	require.NoError(t, err)
	assert.Equal(t, in, *out)
	assert.Equal(t, in.P50, in.Figures()[FigReplicationP50])
}

func TestLoadRunInfoNamesTheBrokenFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, RunInfoFile), []byte("{"), 0o644))
	_, err := LoadRunInfo(dir)
	require.ErrorContains(t, err, RunInfoFile)
}

func TestGeneratorReportTravelsInTheHistory(t *testing.T) {
	g := GeneratorReport{Elapsed: time.Minute, Requested: 6000, Started: 5400, Late: 12, Dropped: 600, Kept: false,
		Reason: "the generator was the bottleneck: started 5400 of 6000 requested operations"}
	h := &History{Events: []Event{{Kind: Note, Name: "something else"}, g.Event(time.Now())}}
	got, found, err := h.Generator()
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, g, got)
	_, found, err = (&History{}).Generator()
	require.NoError(t, err)
	assert.False(t, found)
	bad := Event{Kind: Note, Name: EventGenerator, Detail: map[string]string{"report": "{"}}
	_, found, err = (&History{Events: []Event{bad}}).Generator()
	assert.True(t, found)
	assert.Error(t, err)
}
