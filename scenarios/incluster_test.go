package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/internal/kongbin"
	"github.com/kongchaos/kong/topology/containers/images"
)

// On the kubernetes backend, a game day sent into the cluster from
// outside, as a user runs it: kong gameday --backend kubernetes, pointed
// at the cluster with a kubeconfig, runs the scenarios in a run Job of the
// world, with the runner's account (bad-deploy's release goes through it),
// and copies the runs' reports back here. The world is the shared one, and
// the game day leaves it up, as it found it.
func TestGamedayInTheCluster(t *testing.T) {
	kubeconfig := shared.Kubeconfig(t)
	c := shared.Get(t)
	bin, err := kongbin.Path()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "kong-reports")
	cmd := exec.CommandContext(ctx, bin, "gameday", "--backend", "kubernetes", "--kubeconfig", kubeconfig,
		"--world", c.Name(), "--scenarios", "bad-deploy,split-brain", "--seed", "42", "--out", out, "--json")
	cmd.Env = os.Environ()
	for role, image := range images.Local {
		cmd.Env = append(cmd.Env, images.Env[role]+"="+image)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	require.NoError(t, err, "stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
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
	// The world stays up: the next test finds it as it was.
	_, err = c.Components(ctx)
	require.NoError(t, err)
}
