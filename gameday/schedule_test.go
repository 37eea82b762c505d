package gameday

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 5, 1, 14, 7, 30, 0, time.UTC)

func TestEverySlotsCountFromTheFirstRound(t *testing.T) {
	s := Every(time.Hour)
	require.Equal(t, t0, s.First(t0), "the first round starts at once")
	// A round that took 10 minutes: the next starts an hour after the last began.
	require.Equal(t, t0.Add(time.Hour), s.Next(t0, t0.Add(10*time.Minute)))
	// One that took 2.5 hours: the slots at +1h and +2h are skipped.
	next := s.Next(t0, t0.Add(150*time.Minute))
	require.Equal(t, t0.Add(3*time.Hour), next)
	require.Equal(t, 2, skippedSlots(s, t0, next))
	// A slot exactly at now still counts.
	require.Equal(t, t0.Add(2*time.Hour), s.Next(t0, t0.Add(2*time.Hour)))
	require.Equal(t, 0, skippedSlots(s, t0, t0.Add(time.Hour)))
}

func TestCronSlots(t *testing.T) {
	parse := func(expr string) Schedule {
		s, err := Cron(expr, t0)
		require.NoError(t, err, expr)
		return s
	}
	daily := parse("CRON_TZ=UTC 0 3 * * *")
	first := daily.First(t0)
	require.Equal(t, time.Date(2026, 5, 2, 3, 0, 0, 0, time.UTC), first.UTC(), "the first round waits for the first matching time")
	// A round that took an hour: the next is the next day.
	require.Equal(t, first.Add(24*time.Hour), daily.Next(first, first.Add(time.Hour)).UTC())
	// A round that took no time at all does not run the same slot again.
	require.Equal(t, first.Add(24*time.Hour), daily.Next(first, first).UTC())

	halfHourly := parse("CRON_TZ=UTC */30 * * * 1-5") // 2026-05-01 is a Friday
	require.Equal(t, time.Date(2026, 5, 1, 14, 30, 0, 0, time.UTC), halfHourly.First(t0).UTC())
	// From Friday 23:30, the next is Monday 00:00; one that ran 75 minutes
	// skipped two slots.
	fri := time.Date(2026, 5, 1, 23, 30, 0, 0, time.UTC)
	require.Equal(t, time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC), halfHourly.Next(fri, fri.Add(time.Minute)).UTC())
	mon := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	next := halfHourly.Next(mon, mon.Add(75*time.Minute))
	require.Equal(t, mon.Add(90*time.Minute), next.UTC())
	require.Equal(t, 2, skippedSlots(halfHourly, mon, next))

	hourly := parse("@hourly")
	require.Equal(t, 0, hourly.First(t0).Minute())
	require.True(t, hourly.First(t0).After(t0))
}

// fakeClock jumps to whatever time is waited for.
type fakeClock struct {
	now    time.Time
	slept  []time.Time
	cancel func() // when set, waiting ends the context instead
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) bool {
	c.slept = append(c.slept, t)
	if c.cancel != nil {
		c.cancel()
		return false
	}
	c.now = t
	return true
}

func TestRoundsRunAtTheirSlots(t *testing.T) {
	clk := &fakeClock{now: t0}
	var out bytes.Buffer
	var starts []time.Time
	took := []time.Duration{10 * time.Minute, 150 * time.Minute, 5 * time.Minute}
	verdicts := []bool{true, false, true}
	ran, held := runRounds(context.Background(), Every(time.Hour), 3, clk, &out, func(_ context.Context, n int) bool {
		starts = append(starts, clk.now)
		clk.now = clk.now.Add(took[n-1])
		return verdicts[n-1]
	})
	require.Equal(t, 3, ran)
	require.True(t, held, "the last round's verdict counts")
	require.Equal(t, []time.Time{t0, t0.Add(time.Hour), t0.Add(4 * time.Hour)}, starts)
	require.Equal(t, []time.Time{t0.Add(time.Hour), t0.Add(4 * time.Hour)}, clk.slept)
	require.Contains(t, out.String(), "round 2 starts at 2026-05-01 15:07:30 UTC (in 50m00s)")
	require.Contains(t, out.String(), "round 2 ran past 2 slot(s) of the schedule: they are skipped")
	require.Contains(t, out.String(), "=== round 3 (every 1h0m0s), 2026-05-01 18:07:30 UTC ===")

	// The last round failing makes the whole run fail.
	clk = &fakeClock{now: t0}
	_, held = runRounds(context.Background(), Every(time.Hour), 2, clk, &bytes.Buffer{}, func(_ context.Context, n int) bool { return n == 1 })
	require.False(t, held)
}

func TestRoundsStopWhenInterrupted(t *testing.T) {
	// Interrupted while waiting: no further round runs, the last verdict stands.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &fakeClock{now: t0}
	var out bytes.Buffer
	ran, held := runRounds(ctx, Every(time.Hour), 0, clk, &out, func(_ context.Context, n int) bool {
		clk.cancel = cancel // interrupt the wait after this round
		return true
	})
	require.Equal(t, 1, ran)
	require.True(t, held)
	require.Contains(t, out.String(), "stopped while waiting for round 2")

	// Interrupted during a round: it finishes (aborted, not held), nothing after it.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	clk = &fakeClock{now: t0}
	out.Reset()
	ran, held = runRounds(ctx, Every(time.Minute), 0, clk, &out, func(ctx context.Context, n int) bool {
		clk.now = clk.now.Add(10 * time.Second)
		if n == 2 {
			cancel()
			return ctx.Err() == nil
		}
		return true
	})
	require.Equal(t, 2, ran)
	require.False(t, held)
	require.Contains(t, out.String(), "stopped during round 2")

	// Interrupted before the first (cron) slot: nothing ran, nothing held.
	ctx, cancel = context.WithCancel(context.Background())
	clk = &fakeClock{now: t0, cancel: cancel}
	s, err := Cron("CRON_TZ=UTC 0 3 * * *", t0)
	require.NoError(t, err)
	ran, held = runRounds(ctx, s, 0, clk, &bytes.Buffer{}, func(context.Context, int) bool {
		t.Fatal("no round may run")
		return true
	})
	require.Zero(t, ran)
	require.False(t, held)
}

func TestScheduleFlagsAreChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		f    ScheduleFlags
		err  string
	}{
		{"both", ScheduleFlags{Every: time.Hour, EverySet: true, Cron: "0 3 * * *", CronSet: true}, "--every and --cron are mutually exclusive"},
		{"zero interval", ScheduleFlags{Every: 0, EverySet: true}, "--every 0s: give an interval longer than zero"},
		{"negative interval", ScheduleFlags{Every: -time.Minute, EverySet: true}, "--every -1m0s"},
		{"empty cron", ScheduleFlags{Cron: " ", CronSet: true}, "--cron is empty: give five fields"},
		{"too few fields", ScheduleFlags{Cron: "0 3 *", CronSet: true}, `--cron "0 3 *": expected exactly 5 fields, found 3`},
		{"six fields", ScheduleFlags{Cron: "0 0 3 * * *", CronSet: true}, "expected exactly 5 fields, found 6"},
		{"out of range", ScheduleFlags{Cron: "61 * * * *", CronSet: true}, "above maximum"},
		{"not a number", ScheduleFlags{Cron: "x * * * *", CronSet: true}, `--cron "x * * * *"`},
		{"never", ScheduleFlags{Cron: "0 0 30 2 *", CronSet: true}, "never matches a date"},
		{"rounds without a schedule", ScheduleFlags{Rounds: 3}, "--rounds needs --every or --cron"},
		{"negative rounds", ScheduleFlags{Rounds: -1, EverySet: true, Every: time.Hour}, "--rounds -1"},
	} {
		s, err := c.f.Schedule(t0)
		require.Error(t, err, c.name)
		require.Contains(t, err.Error(), c.err, c.name)
		require.Nil(t, s, c.name)
	}

	s, err := ScheduleFlags{}.Schedule(t0)
	require.NoError(t, err)
	require.Nil(t, s, "without --every or --cron a game day runs once")

	s, err = ScheduleFlags{Every: 6 * time.Hour, EverySet: true, Rounds: 4}.Schedule(t0)
	require.NoError(t, err)
	require.Equal(t, "every 6h0m0s", s.String())

	s, err = ScheduleFlags{Cron: "CRON_TZ=UTC 0 3 * * *", CronSet: true}.Schedule(t0)
	require.NoError(t, err)
	require.Equal(t, `cron "CRON_TZ=UTC 0 3 * * *"`, s.String())
}
