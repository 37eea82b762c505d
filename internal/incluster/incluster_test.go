package incluster

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/output"
)

// The exit status of the command in the cluster is kong's when it is one
// of kong's; a command ended by a signal is a world that could not finish.
func TestStatus(t *testing.T) {
	require.NoError(t, Status("run", 0))
	for _, code := range []int{exitstatus.NotHeld, exitstatus.BadInput, exitstatus.World} {
		require.Equal(t, code, exitstatus.Of(Status("run", code)))
	}
	err := Status("run", 137)
	require.Equal(t, exitstatus.World, exitstatus.Of(err))
	require.ErrorContains(t, err, "signal 9")
	require.Equal(t, exitstatus.World, exitstatus.Of(Status("run", 42)))
}

// kong run --json from outside the cluster writes the document of the run
// copied out, as it would of a run here; of the error when none came.
func TestRunDoc(t *testing.T) {
	out := t.TempDir()
	run := "split-brain-20261204T100000.000Z"
	require.NoError(t, os.CopyFS(filepath.Join(out, run), os.DirFS(filepath.Join("..", "..", "reports", "testdata", "failed-run"))))
	require.NoError(t, os.WriteFile(filepath.Join(out, "notes.txt"), nil, 0o644))
	doc := RunDoc(out, []string{"notes.txt", run}, "split-brain", nil)
	require.Equal(t, output.RunSchema, doc.Schema)
	require.Equal(t, filepath.Join(out, run), doc.Dir)
	require.Equal(t, history.StatusFailed, doc.Status)
	require.NotEmpty(t, doc.Checkers)

	doc = RunDoc(out, []string{"notes.txt"}, "split-brain", errors.New("the run Job could not start"))
	require.Equal(t, history.StatusError, doc.Status)
	require.Contains(t, doc.Reason, "the run Job could not start")
	require.Equal(t, "split-brain", doc.Scenario)
}
