package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 5, 1, 14, 7, 30, 0, time.UTC)

func TestScheduleFlagsAreChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		f    scheduleFlags
		err  string
	}{
		{"both", scheduleFlags{every: time.Hour, everySet: true, cron: "0 3 * * *", cronSet: true}, "--every and --cron are mutually exclusive"},
		{"zero interval", scheduleFlags{every: 0, everySet: true}, "--every 0s: give an interval longer than zero"},
		{"negative interval", scheduleFlags{every: -time.Minute, everySet: true}, "--every -1m0s"},
		{"empty cron", scheduleFlags{cron: " ", cronSet: true}, "--cron is empty: give five fields"},
		{"too few fields", scheduleFlags{cron: "0 3 *", cronSet: true}, `--cron "0 3 *": expected exactly 5 fields, found 3`},
		{"six fields", scheduleFlags{cron: "0 0 3 * * *", cronSet: true}, "expected exactly 5 fields, found 6"},
		{"out of range", scheduleFlags{cron: "61 * * * *", cronSet: true}, "above maximum"},
		{"not a number", scheduleFlags{cron: "x * * * *", cronSet: true}, `--cron "x * * * *"`},
		{"never", scheduleFlags{cron: "0 0 30 2 *", cronSet: true}, "never matches a date"},
		{"rounds without a schedule", scheduleFlags{rounds: 3}, "--rounds needs --every or --cron"},
		{"negative rounds", scheduleFlags{rounds: -1, everySet: true, every: time.Hour}, "--rounds -1"},
	} {
		s, err := c.f.parse(t0)
		require.Error(t, err, c.name)
		require.Contains(t, err.Error(), c.err, c.name)
		require.Nil(t, s, c.name)
	}

	s, err := scheduleFlags{}.parse(t0)
	require.NoError(t, err)
	require.Nil(t, s, "without --every or --cron a game day runs once")

	s, err = scheduleFlags{every: 6 * time.Hour, everySet: true, rounds: 4}.parse(t0)
	require.NoError(t, err)
	require.Equal(t, "every 6h0m0s", s.String())

	s, err = scheduleFlags{cron: "CRON_TZ=UTC 0 3 * * *", cronSet: true}.parse(t0)
	require.NoError(t, err)
	require.Equal(t, `cron "CRON_TZ=UTC 0 3 * * *"`, s.String())
}

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
