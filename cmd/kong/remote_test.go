package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/internal/incluster"
	"github.com/kongchaos/kong/topology/kube"
)

// The command line the kong inside the cluster runs: the same command,
// arguments and flags as typed, but those that say how this kong reaches
// the cluster and where its files go, which are the run Job's own.
func TestInClusterArgs(t *testing.T) {
	root := newRoot()
	cmd, args, err := root.Find([]string{"run", "split-brain"})
	require.NoError(t, err)
	require.NoError(t, cmd.ParseFlags([]string{"--seed", "7", "--backend", "kubernetes", "--kubeconfig", "/k", "--context", "c",
		"--world", "w2", "--out", "here", "--no-reset", "--log-level", "debug", "--json"}))
	got := incluster.Args(cmd, args, "w2", "team-")
	require.Equal(t, []string{"run", "split-brain", "--log-level=debug", "--no-reset=true", "--seed=7",
		"--backend", kube.BackendName, "--in-cluster", "--world", "w2", "--namespace-prefix", "team-", "--out", kube.JobReports}, got)
	require.NotContains(t, got, "--kubeconfig=/k")
	require.NotContains(t, got, "--out=here")

	cmd, _, err = root.Find([]string{"replication-check"})
	require.NoError(t, err)
	require.NoError(t, cmd.ParseFlags([]string{"--records", "1000"}))
	require.Equal(t, []string{"replication-check", "--records=1000", "--backend", kube.BackendName, "--in-cluster", "--world", "w", "--namespace-prefix", kube.DefaultPrefix,
		"--out", kube.JobReports}, incluster.Args(cmd, nil, "w", ""))

	// A game day's world and reports folder are looked after outside.
	cmd, _, err = root.Find([]string{"gameday"})
	require.NoError(t, err)
	require.NoError(t, cmd.ParseFlags([]string{"--scenarios", "split-brain,chaos-kong", "--keep", "--keep-runs", "20", "--seed", "3"}))
	require.Equal(t, []string{"gameday", "--scenarios=split-brain,chaos-kong", "--seed=3", "--backend", kube.BackendName, "--in-cluster",
		"--world", "w", "--namespace-prefix", kube.DefaultPrefix, "--out", kube.JobReports}, incluster.Args(cmd, nil, "w", ""))
}
