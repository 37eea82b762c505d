package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGamedayRefusesBadScheduleBeforeTouchingAWorld(t *testing.T) {
	home := t.TempDir()
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"gameday", "--every", "1h", "--cron", "0 3 * * *"}, "--every and --cron are mutually exclusive"},
		{[]string{"gameday", "--cron", "0 25 * * *"}, `--cron "0 25 * * *": end of range (25) above maximum (23)`},
		{[]string{"gameday", "--every", "0s"}, "--every 0s: give an interval longer than zero"},
		{[]string{"gameday", "--rounds", "2"}, "--rounds needs --every or --cron"},
		{[]string{"gameday", "--every", "1h", "--keep-runs", "1", "--scenarios", "split-brain,chaos-kong"}, "--keep-runs 1 is fewer than the 2 scenarios of a round"},
		{[]string{"gameday", "--keep-runs", "-2"}, "--keep-runs -2"},
		{[]string{"gameday", "--every", "1h", "--progress", "fancy"}, `--progress "fancy"`},
		{[]string{"run", "split-brain", "--progress", "fancy"}, `--progress "fancy"`},
	} {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append([]string{"--home", home, "--world", "absent"}, c.args...))
		err := root.Execute()
		require.Error(t, err, c.args)
		require.Contains(t, err.Error(), c.err, c.args)
		require.NotContains(t, out.String(), "bringing up world", "flags are checked before any world is brought up")
	}
}
