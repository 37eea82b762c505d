package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/internal/kongbin"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers/images"
)

// On the kubernetes backend, a game day sent into the cluster from
// outside, as a user runs it: kong gameday --backend kubernetes, pointed
// at the cluster with a kubeconfig, runs the scenarios in a run Job of the
// world, with the runner's account (bad-deploy's release goes through it),
// and copies the runs' reports back here. The world is the shared one, and
// the game day leaves it up, as it found it.
func TestGamedayInTheCluster(t *testing.T) {
	c := shared.Get(t)
	out := filepath.Join(t.TempDir(), "kong-reports")
	stdout, stderr := kongIntoTheCluster(t, "gameday", "--world", c.Name(), "--scenarios", "bad-deploy,split-brain",
		"--seed", "42", "--out", out, "--json")
	// kong gameday --json's document, the fields this test reads.
	var doc struct {
		Status history.Status `json:"status"`
		Runs   []struct {
			Scenario, Reason, Backend, Dir string
			Status                         history.Status
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &doc), stdout.String())
	require.Equal(t, history.StatusPassed, doc.Status, "%+v\nstderr:\n%s", doc, stderr.String())
	var ran []string
	for _, r := range doc.Runs {
		ran = append(ran, r.Scenario)
		require.Equal(t, history.StatusPassed, r.Status, "%s: %s", r.Scenario, r.Reason)
		require.Equal(t, "kubernetes", r.Backend, r.Scenario)
		require.FileExists(t, filepath.Join(r.Dir, "report.json"), "the run's reports came back from the cluster")
	}
	require.ElementsMatch(t, []string{"bad-deploy", "split-brain"}, ran)
	require.FileExists(t, filepath.Join(out, "index.html"))
	require.Contains(t, stderr.String(), "running in the cluster", "the game day ran in the cluster, not here")
	// The world stays up, every component running, as the game day found
	// it: the next tests run on it.
	st, err := c.Components(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, st)
	for _, s := range st {
		require.Equal(t, topology.StateRunning, s.State, "%s after the game day", s.ID)
	}
}

// On the kubernetes backend, Netflix's replication check sent into the
// cluster from outside: kong replication-check writes its records from a
// run Job of the world (its traffic never crosses a port-forward), and its
// run folder comes back here with what it found.
func TestReplicationCheckInTheCluster(t *testing.T) {
	c := shared.Get(t)
	out := filepath.Join(t.TempDir(), "kong-reports")
	const records = 20_000
	stdout, stderr := kongIntoTheCluster(t, "replication-check", "--world", c.Name(), "--records", strconv.Itoa(records),
		"--seed", "42", "--out", out, "--progress-every", "30s")
	require.Contains(t, stderr.String()+stdout.String(), "running in the cluster", "the check ran in the cluster, not here")
	found, err := filepath.Glob(filepath.Join(out, "*", history.ReplicationFile))
	require.NoError(t, err)
	require.Len(t, found, 1, "the run folder came back from the cluster")
	rep, err := history.LoadReplication(filepath.Dir(found[0]))
	require.NoError(t, err)
	require.Equal(t, records, rep.Records)
	require.Equal(t, records, rep.Samples, "every write acknowledged")
	require.Zero(t, rep.Missing, "every record seen in %s", rep.To)
	require.FileExists(t, filepath.Join(filepath.Dir(found[0]), "report.json"))
	t.Logf("%d records from %s to %s in the cluster: %.3f %% visible at %.0f ms, p99 %.1f ms, max %.1f ms",
		rep.Records, rep.From, rep.To, 100*rep.VisibleAtRead, rep.ReadAfterMs, rep.P99, rep.Max)
}

// kongIntoTheCluster runs kong with args from this machine on the
// kubernetes backend's shared world, as a user outside the cluster does
// (its kubeconfig, kong's images named as a user names them), and returns
// what it printed; the test fails unless it exits 0 within 15 minutes.
func kongIntoTheCluster(t *testing.T, args ...string) (stdout, stderr *bytes.Buffer) {
	t.Helper()
	kubeconfig := shared.Kubeconfig(t)
	bin, err := kongbin.Path()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--backend", "kubernetes", "--kubeconfig", kubeconfig)...)
	cmd.Env = os.Environ()
	for role, image := range images.Local {
		cmd.Env = append(cmd.Env, images.Env[role]+"="+image)
	}
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	require.NoError(t, cmd.Run(), "kong %s\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), stderr, stdout)
	return stdout, stderr
}
