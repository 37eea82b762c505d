package gameday

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kongchaos/kong/internal/progress"
)

// A scheduled game day runs the suite in rounds: Every at once and then
// every interval from the first round's start; Cron at the times the
// expression names (the first one after the game day starts). A round that
// runs past its next slot is followed at once by the next, and the slots
// it ran over are skipped, not queued.

// Schedule says when the rounds of a scheduled game day start.
type Schedule interface {
	// First is when the first round starts, for a game day started at now.
	First(now time.Time) time.Time
	// Next is the first slot after prev (the last round's slot) that is not
	// before now.
	Next(prev, now time.Time) time.Time
	String() string
}

// Every starts a round every d, counted from the first round's start.
func Every(d time.Duration) Schedule { return every(d) }

type every time.Duration

func (e every) First(now time.Time) time.Time { return now }

func (e every) Next(prev, now time.Time) time.Time {
	d := time.Duration(e)
	k := max(1, int64(now.Sub(prev)/d))
	if prev.Add(time.Duration(k) * d).Before(now) {
		k++
	}
	return prev.Add(time.Duration(k) * d)
}

func (e every) String() string { return "every " + time.Duration(e).String() }

// ErrNeverMatches says a cron expression names no date that exists (such
// as 30 February).
var ErrNeverMatches = errors.New("never matches a date")

// Cron starts a round at the times of a standard 5-field cron expression
// (robfig/cron's ParseStandard: descriptors such as @daily and a CRON_TZ=
// prefix too). now is used to check that the expression ever matches.
func Cron(expr string, now time.Time) (Schedule, error) {
	spec, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, err
	}
	if spec.Next(now).IsZero() {
		return nil, ErrNeverMatches
	}
	return cronSchedule{expr: expr, spec: spec}, nil
}

type cronSchedule struct {
	expr string
	spec cron.Schedule
}

func (c cronSchedule) First(now time.Time) time.Time { return c.spec.Next(now) }

func (c cronSchedule) Next(prev, now time.Time) time.Time {
	// Next is strictly after its argument: a slot at now itself still
	// counts, prev never does.
	if !now.After(prev) {
		return c.spec.Next(prev)
	}
	return c.spec.Next(now.Add(-time.Nanosecond))
}

func (c cronSchedule) String() string { return fmt.Sprintf("cron %q", c.expr) }

// Clock is the time a schedule waits on; tests pass one of their own.
type Clock interface {
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
func runRounds(ctx context.Context, s Schedule, limit int, clk Clock, out io.Writer, round roundFunc) (ran int, held bool) {
	slot := s.First(clk.Now())
	for n := 1; ; n++ {
		if wait := slot.Sub(clk.Now()); wait > 0 {
			fmt.Fprintf(out, "\nround %d starts at %s (in %s); Ctrl-C stops\n", n, slot.Format("2006-01-02 15:04:05 MST"), progress.ShortDuration(wait))
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
		nextSlot := s.Next(slot, now)
		if skipped := skippedSlots(s, slot, nextSlot); skipped > 0 {
			fmt.Fprintf(out, "round %d ran past %d slot(s) of the schedule: they are skipped\n", n, skipped)
		}
		slot = nextSlot
	}
}

// skippedSlots counts the slots of s after prev and before next.
func skippedSlots(s Schedule, prev, next time.Time) int {
	n := 0
	for t := s.Next(prev, prev); t.Before(next) && n < 10000; t = s.Next(t, t) {
		n++
	}
	return n
}

// ScheduleFlags are a game day's --every, --cron and --rounds, as given.
type ScheduleFlags struct {
	Every  time.Duration
	Cron   string
	Rounds int
	// EverySet and CronSet say whether the flags were given at all.
	EverySet, CronSet bool
}

// cronHelp says what a cron expression looks like.
const cronHelp = `five fields: minute hour day-of-month month day-of-week, such as "0 3 * * *" (03:00 every day) or "*/30 * * * 1-5" (every half hour on weekdays); or @hourly, @daily, @weekly, @monthly; CRON_TZ=Europe/Paris in front sets the time zone (default: the machine's)`

// Schedule checks the flags and returns the schedule, or nil for a single
// game day; its errors name the flags. now is used to check that a cron
// expression ever matches.
func (f ScheduleFlags) Schedule(now time.Time) (Schedule, error) {
	switch {
	case f.EverySet && f.CronSet:
		return nil, errors.New("--every and --cron are mutually exclusive: give one of them")
	case f.Rounds < 0:
		return nil, fmt.Errorf("--rounds %d: give a number of rounds, or 0 to run until stopped", f.Rounds)
	case f.Rounds > 0 && !f.EverySet && !f.CronSet:
		return nil, errors.New("--rounds needs --every or --cron (without them a game day runs once)")
	case f.EverySet:
		if f.Every <= 0 {
			return nil, fmt.Errorf("--every %s: give an interval longer than zero, such as --every 6h", f.Every)
		}
		return Every(f.Every), nil
	case f.CronSet:
		expr := strings.TrimSpace(f.Cron)
		if expr == "" {
			return nil, fmt.Errorf("--cron is empty: give %s", cronHelp)
		}
		s, err := Cron(expr, now)
		switch {
		case errors.Is(err, ErrNeverMatches):
			return nil, fmt.Errorf("--cron %q never matches a date (such as 30 February)", f.Cron)
		case err != nil:
			return nil, fmt.Errorf("--cron %q: %v; give %s", f.Cron, err, cronHelp)
		}
		return s, nil
	}
	return nil, nil
}
