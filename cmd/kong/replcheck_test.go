package main

import (
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replicationArgs parses kong replication-check's flags.
func replicationArgs(t *testing.T, args ...string) *replicationFlags {
	t.Helper()
	var f replicationFlags
	cmd := &cobra.Command{Use: "replication-check"}
	f.register(cmd)
	require.NoError(t, cmd.Flags().Parse(args))
	return &f
}

func TestReplicationCheckFlags(t *testing.T) {
	o, err := replicationArgs(t).options()
	require.NoError(t, err)
	assert.Equal(t, 1_000_000, o.Records)
	assert.Equal(t, 500*time.Millisecond, o.ReadAfter)
	assert.Equal(t, gocql.LocalQuorum, o.WriteConsistency)
	assert.Equal(t, gocql.LocalOne, o.ReadConsistency)

	o, err = replicationArgs(t, "--records", "20000", "--write-cl", "each_quorum", "--read-cl", "local_quorum",
		"--during", "split-brain", "--batch", "16").options()
	require.NoError(t, err)
	assert.Equal(t, gocql.EachQuorum, o.WriteConsistency)
	assert.Equal(t, gocql.LocalQuorum, o.ReadConsistency)
	assert.Equal(t, "split-brain", o.During)
	assert.Equal(t, 16, o.Batch)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--write-cl", "LOCAL_FEW"}, `--write-cl "LOCAL_FEW" is not a consistency level this check uses; use one of ONE, TWO`},
		{[]string{"--write-cl", "ANY"}, "--write-cl \"ANY\""},
		{[]string{"--read-cl", "EACH_QUORUM"}, "--read-cl \"EACH_QUORUM\""},
		{[]string{"--read-cl", "SERIAL"}, "--read-cl \"SERIAL\""},
		{[]string{"--records", "0"}, "--records 0: write at least one record"},
		{[]string{"--read-after", "0s"}, "--read-after 0s"},
		{[]string{"--during", "flood"}, `--during "flood": the faults are split-brain and latency`},
		{[]string{"--hold-fault"}, "--hold-fault needs a --during fault"},
		{[]string{"--link-latency", "0s", "--during", "latency"}, "--link-latency 0s must be positive"},
		{[]string{"--link-latency", "700ms", "--during", "split-brain"}, "--link-latency is the latency of --during latency"},
		{[]string{"--batch", "3"}, "--batch 3: a batch stays within one partition of 64 records"},
		{[]string{"--concurrency", "0"}, "--concurrency 0"},
		{[]string{"--rate", "-5"}, "--rate -5: give a rate in records per second"},
		{[]string{"--min-share", "1.5"}, "--min-share 1.5"},
	} {
		_, err := replicationArgs(t, tc.args...).options()
		require.Error(t, err, "%v", tc.args)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestReplicationCheckReplayLine(t *testing.T) {
	o, err := replicationArgs(t, "--records", "5000", "--to", "us-west-2", "--during", "latency", "--batch", "8", "--rate", "3000").options()
	require.NoError(t, err)
	assert.Equal(t, "kong replication-check --world w --records 5000 --read-after 500ms --write-cl LOCAL_QUORUM --read-cl LOCAL_ONE --seed 9"+
		" --to us-west-2 --during latency --link-latency 150ms --batch 8 --rate 3000", o.Replay("w", 9))
}
