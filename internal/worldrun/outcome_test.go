package worldrun

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/internal/exitstatus"
)

func TestOutcomeExitCodes(t *testing.T) {
	require.Equal(t, exitstatus.Held, exitstatus.Of(nil))
	require.Nil(t, OutcomeError("scenario x", &run.Outcome{Status: history.StatusPassed}))
	// A verdict that did not hold is 1, wrapped or not.
	failed := OutcomeError("scenario x", &run.Outcome{Status: history.StatusFailed, Reason: "availability 97% < 99%"})
	require.Equal(t, exitstatus.NotHeld, exitstatus.Of(failed))
	require.Equal(t, exitstatus.NotHeld, exitstatus.Of(fmt.Errorf("game day: %w", failed)))
	require.ErrorContains(t, failed, "availability 97% < 99%")
	// A run that could not finish is 3, as is a world that is not there.
	require.Equal(t, exitstatus.World, exitstatus.Of(OutcomeError("scenario x", &run.Outcome{Status: history.StatusAborted, Reason: "interrupted"})))
	require.Equal(t, exitstatus.World, exitstatus.Of(errors.New("world kong is not up")))
	// Bad input is 2 (see exitstatus.TestOf).
	require.Equal(t, exitstatus.BadInput, exitstatus.Of(exitstatus.Usage(errors.New("unknown scenario"))))
}

func TestReplayNamesTheBackendOfItsWorld(t *testing.T) {
	const line = "kong run split-brain --seed 7 --world w"
	for backend, want := range map[string]string{
		"":           line,
		"local":      line + " --backend local", // also right where KONG_BACKEND says containers
		"containers": line + " --backend containers",
	} {
		if got := onBackend(line, backend); got != want {
			t.Errorf("onBackend(%q) = %q, want %q", backend, got, want)
		}
	}
}
