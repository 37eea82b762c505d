package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/topology"
)

// What kong bench prints of each result.
func TestResultsWrite(t *testing.T) {
	var b bytes.Buffer
	Startup{Source: "profile default", Components: 3, Took: 41234 * time.Millisecond,
		Phases: []topology.PhaseTime{{Phase: "cassandra", Duration: 30 * time.Second}},
		RSS:    map[string]int64{"memcached": 8 << 20, "cassandra": 600 << 20},
		PSS:    map[string]int64{"memcached": 7 << 20, "cassandra": 500 << 20}}.Write(&b)
	require.Equal(t, "\nstart-up of profile default (3 components, jars cached): 41.23s\n  cassandra        30s\n"+
		"\nresident memory right after start-up (RSS, and PSS: shared pages counted once):\n"+
		"  cassandra       600 MiB      500 MiB\n  memcached         8 MiB        7 MiB\n  total           608 MiB      507 MiB\n", b.String())

	b.Reset()
	ms := []time.Duration{time.Millisecond, 2 * time.Millisecond}
	WriteLatency(&b, "direct", ms, nil)
	WriteLatency(&b, "via", []time.Duration{3 * time.Millisecond, 3 * time.Millisecond}, ms)
	require.Equal(t, "  direct                             p50      1ms  p99      1ms\n"+
		"  via                                p50      3ms  p99      3ms   added p50      2ms  p99      2ms\n", b.String())

	b.Reset()
	MemberReads{Members: 10, Cold: PoolResult{Rate: 100}, ColdMisses: 10, WarmHits: 9}.Write(&b)
	require.Contains(t, b.String(), "from Cassandra (cold cache)")
	require.Contains(t, b.String(), "(9 of 10 were hits)")

	b.Reset()
	wall := 10 * time.Second
	r := ReplicationResult{Groups: []string{"cassandra a"}, Rows: []Row{
		{Name: "plain loop (before)", Rate: 1000, Use: CPUUse{Wall: wall}},
		{Name: CheckName, Rate: 950, Use: CPUUse{Wall: wall}}}}
	r.Check = r.Rows[1]
	require.NoError(t, r.Write(&b))
	require.Contains(t, b.String(), "cassandra a CPU")
	require.Contains(t, b.String(), "ratio 0.950 (target >= 0.9)")
	require.Equal(t, 3, strings.Count(strings.Split(b.String(), "(CPU as")[0], "\n"), "a head and a line per row")
}

// The check's row comes from its replication.json; the report after the
// table names its outcome and its folder, and gives its figures.
func TestCheckRowAndReport(t *testing.T) {
	dir := t.TempDir()
	_, err := CheckRow(dir)
	require.ErrorContains(t, err, "the check left no summary")
	require.NoError(t, history.SaveReplication(dir, history.Replication{Samples: 1000, From: "us-east-1", To: "us-west-2",
		WriteSeconds: 2.5, WriteRate: 400, WriteErrors: 3}))
	row, err := CheckRow(dir)
	require.NoError(t, err)
	require.Equal(t, Row{Writes: 2500 * time.Millisecond, Rate: 400, Failed: 3}, row)

	var b bytes.Buffer
	row.Name = CheckName
	require.NoError(t, ReplicationResult{Rows: []Row{row}, Check: row}.Report(&b, dir, &run.Outcome{Status: history.StatusPassed}))
	require.Contains(t, b.String(), "replication check: PASSED\n")
	require.Contains(t, b.String(), "1000 records written in us-east-1")
	require.True(t, strings.HasSuffix(b.String(), "artifacts: "+dir+"\n"), b.String())
}
