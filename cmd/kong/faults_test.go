package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/internal/exitstatus"
)

func TestFaultsListsTheCatalogue(t *testing.T) {
	out, err := runKong(t, "faults")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, []string{"FAULT", "TARGETS", "DESCRIPTION", "PARAMETERS"}, strings.Fields(lines[0]))
	entries := fault.Catalogue()
	require.Len(t, lines, 1+len(entries), "a header and one line per fault")
	for i, e := range entries {
		require.True(t, strings.HasPrefix(lines[1+i], e.Name+" "), "line %d: %q", 1+i, lines[1+i])
		require.Contains(t, lines[1+i], e.Description)
	}
	require.Regexp(t, `(?m)^link-latency +link +.* latency=200 jitter=0 stream=upstream toxicity=1$`, out)
	require.Regexp(t, `(?m)^dependency-errors +instance,zone,region,world +.* error_rate=0.5 latency_ms=0$`, out)
	require.Regexp(t, `(?m)^dropped-writes +instance,zone,region,world +.* rate=0.01$`, out)
}

func TestFaultsShowsOne(t *testing.T) {
	out, err := runKong(t, "faults", "evacuate-region")
	require.NoError(t, err)
	require.Contains(t, out, "evacuate-region: move a region's users")
	require.Contains(t, out, "targets: region\n")
	require.Regexp(t, `(?m)^step_wait +8s +pause after each step but the last$`, out)

	_, err = runKong(t, "faults", "unplug-the-machine")
	require.ErrorContains(t, err, `no fault "unplug-the-machine" in the catalogue`)
	require.Equal(t, exitstatus.BadInput, exitstatus.Of(err))
}
