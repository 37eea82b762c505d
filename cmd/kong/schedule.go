package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/topology"
)

// A scheduled game day runs the suite in rounds: with --every, at once and
// then every interval from the first round's start; with --cron, at the
// times the expression names (the first one after kong starts). A round
// that runs past its next slot is followed at once by the next, and the
// slots it ran over are skipped, not queued.

// schedule says when the rounds of a scheduled game day start.
type schedule interface {
	// first is when the first round starts, for a game day started at now.
	first(now time.Time) time.Time
	// next is the first slot after prev (the last round's slot) that is not
	// before now.
	next(prev, now time.Time) time.Time
	String() string
}

// every starts a round every d, counted from the first round's start.
type every time.Duration

func (e every) first(now time.Time) time.Time { return now }

func (e every) next(prev, now time.Time) time.Time {
	d := time.Duration(e)
	k := max(1, int64(now.Sub(prev)/d))
	if prev.Add(time.Duration(k) * d).Before(now) {
		k++
	}
	return prev.Add(time.Duration(k) * d)
}

func (e every) String() string { return "every " + time.Duration(e).String() }

// cronSchedule starts a round at the times of a cron expression.
type cronSchedule struct {
	expr string
	spec cron.Schedule
}

func (c cronSchedule) first(now time.Time) time.Time { return c.spec.Next(now) }

func (c cronSchedule) next(prev, now time.Time) time.Time {
	// Next is strictly after its argument: a slot at now itself still
	// counts, prev never does.
	if !now.After(prev) {
		return c.spec.Next(prev)
	}
	return c.spec.Next(now.Add(-time.Nanosecond))
}

func (c cronSchedule) String() string { return fmt.Sprintf("cron %q", c.expr) }

// scheduleFlags are a game day's --every, --cron and --rounds.
type scheduleFlags struct {
	every  time.Duration
	cron   string
	rounds int
	// everySet and cronSet say whether the flags were given at all.
	everySet, cronSet bool
}

// cronHelp says what a cron expression looks like.
const cronHelp = `five fields: minute hour day-of-month month day-of-week, such as "0 3 * * *" (03:00 every day) or "*/30 * * * 1-5" (every half hour on weekdays); or @hourly, @daily, @weekly, @monthly; CRON_TZ=Europe/Paris in front sets the time zone (default: the machine's)`

// parse checks the flags and returns the schedule, or nil for a single
// game day. now is used to check that a cron expression ever matches.
func (f scheduleFlags) parse(now time.Time) (schedule, error) {
	switch {
	case f.everySet && f.cronSet:
		return nil, errors.New("--every and --cron are mutually exclusive: give one of them")
	case f.rounds < 0:
		return nil, fmt.Errorf("--rounds %d: give a number of rounds, or 0 to run until stopped", f.rounds)
	case f.rounds > 0 && !f.everySet && !f.cronSet:
		return nil, errors.New("--rounds needs --every or --cron (without them a game day runs once)")
	case f.everySet:
		if f.every <= 0 {
			return nil, fmt.Errorf("--every %s: give an interval longer than zero, such as --every 6h", f.every)
		}
		return every(f.every), nil
	case f.cronSet:
		expr := strings.TrimSpace(f.cron)
		if expr == "" {
			return nil, fmt.Errorf("--cron is empty: give %s", cronHelp)
		}
		spec, err := cron.ParseStandard(expr)
		if err != nil {
			return nil, fmt.Errorf("--cron %q: %v; give %s", f.cron, err, cronHelp)
		}
		if spec.Next(now).IsZero() {
			return nil, fmt.Errorf("--cron %q never matches a date (such as 30 February)", f.cron)
		}
		return cronSchedule{expr: expr, spec: spec}, nil
	}
	return nil, nil
}

// clock is the time a schedule waits on; tests pass one of their own.
type clock interface {
	Now() time.Time
	// SleepUntil waits until t; it returns false when ctx ended first.
	SleepUntil(ctx context.Context, t time.Time) bool
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) SleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// roundFunc runs round n of a scheduled game day and says whether it held.
type roundFunc func(ctx context.Context, n int) bool

// runRounds runs round at every slot of s until ctx ends or limit rounds
// (0: no limit) ran. It returns how many rounds ran and whether the last
// one held. Between rounds it says when the next one starts.
func runRounds(ctx context.Context, s schedule, limit int, clk clock, out io.Writer, round roundFunc) (ran int, held bool) {
	slot := s.first(clk.Now())
	for n := 1; ; n++ {
		if wait := slot.Sub(clk.Now()); wait > 0 {
			fmt.Fprintf(out, "\nround %d starts at %s (in %s); Ctrl-C stops\n", n, slot.Format("2006-01-02 15:04:05 MST"), shortDuration(wait))
			if !clk.SleepUntil(ctx, slot) {
				fmt.Fprintf(out, "scheduled game day stopped while waiting for round %d\n", n)
				return ran, held
			}
		}
		if ctx.Err() != nil {
			return ran, held
		}
		fmt.Fprintf(out, "\n=== round %d (%s), %s ===\n", n, s, clk.Now().Format("2006-01-02 15:04:05 MST"))
		held = round(ctx, n)
		ran++
		if ctx.Err() != nil {
			fmt.Fprintf(out, "scheduled game day stopped during round %d\n", n)
			return ran, held
		}
		if limit > 0 && ran >= limit {
			return ran, held
		}
		now := clk.Now()
		nextSlot := s.next(slot, now)
		if skipped := skippedSlots(s, slot, nextSlot); skipped > 0 {
			fmt.Fprintf(out, "round %d ran past %d slot(s) of the schedule: they are skipped\n", n, skipped)
		}
		slot = nextSlot
	}
}

// skippedSlots counts the slots of s after prev and before next.
func skippedSlots(s schedule, prev, next time.Time) int {
	n := 0
	for t := s.next(prev, prev); t.Before(next) && n < 10000; t = s.next(t, t) {
		n++
	}
	return n
}

// interruptContext is ctx ended by the first of stopSignals (Ctrl-C,
// SIGTERM, SIGHUP), which says on out what happens next; later signals are
// ignored until stop, so that healing and report writing finish.
func interruptContext(ctx context.Context, out io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, stopSignals...)
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case <-done:
				return
			case sig := <-sigs:
				if first {
					fmt.Fprintf(out, "\n%s: stopping; the current scenario heals its faults and writes its reports first\n", sig)
					cancel(fmt.Errorf("%s", sig))
					first = false
				} else {
					fmt.Fprintf(out, "\n%s: still healing and writing reports; kong exits when they are done\n", sig)
				}
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// worldForRound finds the world before a round of a scheduled game day. A
// world the game day brought up itself and that died since is brought up
// again; a world it found running is someone else's, and its absence fails
// the round.
func worldForRound(ctx context.Context, cmd *cobra.Command, b topology.Backend, world string, sf specFlags, own bool) (topology.Cluster, func(), error) {
	c, release, err := b.Attach(ctx, world)
	if err == nil || !own {
		return c, release, err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "world %s is gone (%v): bringing it up again\n", world, err)
	if derr := b.Down(ctx, world, time.Minute); derr != nil && !errors.Is(derr, topology.ErrNotUp) {
		return nil, nil, fmt.Errorf("clear what is left of world %s: %w", world, derr)
	}
	spec, err := sf.load()
	if err != nil {
		return nil, nil, err
	}
	if err := upWorld(ctx, cmd, b, world, sf, spec, 15*time.Minute); err != nil {
		return nil, nil, err
	}
	return b.Attach(ctx, world)
}
