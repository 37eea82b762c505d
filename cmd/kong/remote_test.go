package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/output"
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
	got := inClusterArgs(cmd, args, "w2", "team-")
	require.Equal(t, []string{"run", "split-brain", "--log-level=debug", "--no-reset=true", "--seed=7",
		"--backend", kube.BackendName, "--in-cluster", "--world", "w2", "--namespace-prefix", "team-", "--out", kube.JobReports}, got)
	require.NotContains(t, got, "--kubeconfig=/k")
	require.NotContains(t, got, "--out=here")

	cmd, _, err = root.Find([]string{"replication-check"})
	require.NoError(t, err)
	require.NoError(t, cmd.ParseFlags([]string{"--records", "1000"}))
	require.Equal(t, []string{"replication-check", "--records=1000", "--backend", kube.BackendName, "--in-cluster", "--world", "w", "--namespace-prefix", kube.DefaultPrefix,
		"--out", kube.JobReports}, inClusterArgs(cmd, nil, "w", ""))

	// A game day's world and reports folder are looked after outside.
	cmd, _, err = root.Find([]string{"gameday"})
	require.NoError(t, err)
	require.NoError(t, cmd.ParseFlags([]string{"--scenarios", "split-brain,chaos-kong", "--keep", "--keep-runs", "20", "--seed", "3"}))
	require.Equal(t, []string{"gameday", "--scenarios=split-brain,chaos-kong", "--seed=3", "--backend", kube.BackendName, "--in-cluster",
		"--world", "w", "--namespace-prefix", kube.DefaultPrefix, "--out", kube.JobReports}, inClusterArgs(cmd, nil, "w", ""))
}

// The exit status of the command in the cluster is kong's when it is one
// of kong's; a command ended by a signal is a world that could not finish.
func TestRemoteStatus(t *testing.T) {
	require.NoError(t, remoteStatus("run", 0))
	for _, code := range []int{exitstatus.NotHeld, exitstatus.BadInput, exitstatus.World} {
		require.Equal(t, code, exitstatus.Of(remoteStatus("run", code)))
	}
	err := remoteStatus("run", 137)
	require.Equal(t, exitstatus.World, exitstatus.Of(err))
	require.ErrorContains(t, err, "signal 9")
	require.Equal(t, exitstatus.World, exitstatus.Of(remoteStatus("run", 42)))
}

// kong run --json from outside the cluster writes the document of the run
// copied out, as it would of a run here; of the error when none came.
func TestRemoteRunDoc(t *testing.T) {
	out := t.TempDir()
	run := "split-brain-20261204T100000.000Z"
	require.NoError(t, os.CopyFS(filepath.Join(out, run), os.DirFS(filepath.Join("..", "..", "reports", "testdata", "failed-run"))))
	require.NoError(t, os.WriteFile(filepath.Join(out, "notes.txt"), nil, 0o644))
	doc := remoteRunDoc(out, []string{"notes.txt", run}, "split-brain", nil)
	require.Equal(t, output.RunSchema, doc.Schema)
	require.Equal(t, filepath.Join(out, run), doc.Dir)
	require.Equal(t, history.StatusFailed, doc.Status)
	require.NotEmpty(t, doc.Checkers)

	doc = remoteRunDoc(out, []string{"notes.txt"}, "split-brain", errors.New("the run Job could not start"))
	require.Equal(t, history.StatusError, doc.Status)
	require.Contains(t, doc.Reason, "the run Job could not start")
	require.Equal(t, "split-brain", doc.Scenario)
}
