package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

func TestExitCodes(t *testing.T) {
	require.Equal(t, exitHeld, exitCode(nil))
	require.Nil(t, outcomeError("scenario x", &run.Outcome{Status: history.StatusPassed}))
	// A verdict that did not hold is 1, wrapped or not.
	failed := outcomeError("scenario x", &run.Outcome{Status: history.StatusFailed, Reason: "availability 97% < 99%"})
	require.Equal(t, exitNotHeld, exitCode(failed))
	require.Equal(t, exitNotHeld, exitCode(fmt.Errorf("game day: %w", failed)))
	require.ErrorContains(t, failed, "availability 97% < 99%")
	// A run that could not finish is 3, as is a world that is not there.
	require.Equal(t, exitWorld, exitCode(outcomeError("scenario x", &run.Outcome{Status: history.StatusAborted, Reason: "interrupted"})))
	require.Equal(t, exitWorld, exitCode(errors.New("world kong is not up")))
	// Bad input is 2, however deep.
	for _, err := range []error{
		usage(errors.New("unknown scenario")),
		fmt.Errorf("down: %w", topology.CheckWorldName("..")),
		fmt.Errorf("x: %w", local.ErrNotKongHome),
		local.ErrNotWorldFolder,
		errors.New(`unknown command "x" for "kong"`),
		errors.New("unknown flag: --x"),
		errors.New("accepts 1 arg(s), received 0"),
	} {
		require.Equal(t, exitUsage, exitCode(err), "%v", err)
	}
	require.Nil(t, usage(nil))
	require.Nil(t, notHeld(nil))
}
