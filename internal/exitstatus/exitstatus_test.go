package exitstatus

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

func TestOf(t *testing.T) {
	require.Equal(t, Held, Of(nil))
	require.Equal(t, NotHeld, Of(fmt.Errorf("game day: %w", Failed(errors.New("scenario x failed")))), "a verdict that did not hold, wrapped")
	require.Equal(t, World, Of(errors.New("world kong is not up")))
	require.Equal(t, 7, Of(With(7, errors.New("nodetool exit status 7"))), "a tool's own status")
	for _, err := range []error{
		Usage(errors.New("unknown scenario")),
		fmt.Errorf("down: %w", topology.CheckWorldName("..")),
		fmt.Errorf("x: %w", local.ErrNotKongHome),
		local.ErrNotWorldFolder,
		errors.New(`unknown command "x" for "kong"`),
		errors.New("unknown flag: --x"),
		errors.New("accepts 1 arg(s), received 0"),
	} {
		require.Equal(t, BadInput, Of(err), "%v", err)
	}
	require.Nil(t, Usage(nil))
	require.Nil(t, Failed(nil))
	require.EqualError(t, Usage(errors.New("bad")), "bad")
}
