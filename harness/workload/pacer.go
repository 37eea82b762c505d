package workload

import (
	"math"
	"time"
)

// Pacer decides when the workload issues its next operation, as vegeta's
// pacers do: given the time elapsed since the start and the number of
// operations issued so far (hits), Pace returns how long to wait before the
// next one, or stop when the schedule is over. A pacer is a pure function of
// its arguments; it never looks at the clock.
//
// The pacers of this package return a negative wait when the next operation
// is already overdue (by that much); vegeta's return 0. The workload accepts
// both and treats elapsed+wait as the operation's intended start, which is
// where its coordinated-omission-corrected latency is measured from, so an
// exact (possibly negative) wait keeps the correction exact even when the
// scheduler itself fell behind.
type Pacer interface {
	Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool)
	// Rate is the intended rate (operations per second) at elapsed.
	Rate(elapsed time.Duration) float64
}

// HitsPacer is a Pacer that can also say how many operations it intended
// to have issued by a time. The workload uses it to tell the rate it was
// asked for from the rate it achieved.
type HitsPacer interface {
	Pacer
	Hits(elapsed time.Duration) float64
}

// Step is one stage of a Steps schedule: Rate operations per second for For.
type Step struct {
	Rate float64
	For  time.Duration
}

// RateSchedule is a piecewise-linear rate schedule: segments in which the
// rate goes linearly from one value to another, optionally followed by a
// tail that holds the last rate for ever. Constant, Ramp and Steps build
// one; its zero value issues nothing and stops at once.
//
// Operation n (counting from 0) is due at the earliest time t at which the
// integral of the rate from 0 to t exceeds n: with a constant rate r,
// operation 0 is due at once and operation n at n/r seconds.
type RateSchedule struct {
	segs []rateSegment
	// end is where the segments end (seconds), endHits the integral there.
	end, endHits float64
	// hold keeps tailRate for ever after end; else the schedule stops there.
	hold     bool
	tailRate float64
}

type rateSegment struct {
	start, dur float64 // seconds
	r0, r1     float64 // rate at start and end of the segment
	h0         float64 // operations due before start (integral up to start)
}

// unlimitedRate stands for an infinite rate: every operation is due at once.
const unlimitedRate = 1e12

// maxPacerWait bounds the wait a RateSchedule returns when it will never
// issue another operation but never stops either (holding a zero rate); the
// caller simply asks again after it.
const maxPacerWait = time.Hour

// Constant issues rate operations per second for ever (until the workload
// is stopped). A rate <= 0 (or NaN) issues nothing.
func Constant(rate float64) *RateSchedule {
	return &RateSchedule{hold: true, tailRate: cleanRate(rate)}
}

// Ramp goes linearly from `from` to `to` operations per second over `over`,
// then holds `to` for ever. Over <= 0 is Constant(to); negative rates count
// as 0.
func Ramp(from, to float64, over time.Duration) *RateSchedule {
	from, to = cleanRate(from), cleanRate(to)
	if over <= 0 {
		return Constant(to)
	}
	s := &RateSchedule{hold: true, tailRate: to}
	s.add(from, to, over.Seconds())
	return s
}

// Steps runs each step in turn, then stops. A last step with For <= 0 holds
// its rate for ever instead; a For <= 0 elsewhere skips the step. Negative
// rates count as 0 (a pause).
func Steps(steps []Step) *RateSchedule {
	s := &RateSchedule{}
	for i, st := range steps {
		r := cleanRate(st.Rate)
		if st.For <= 0 {
			if i == len(steps)-1 {
				s.hold, s.tailRate = true, r
			}
			continue
		}
		s.add(r, r, st.For.Seconds())
	}
	return s
}

func cleanRate(r float64) float64 {
	if r > 0 && !math.IsInf(r, 1) {
		return r
	}
	if math.IsInf(r, 1) {
		return unlimitedRate
	}
	return 0
}

func (s *RateSchedule) add(r0, r1, dur float64) {
	seg := rateSegment{start: s.end, dur: dur, r0: r0, r1: r1, h0: s.endHits}
	s.segs = append(s.segs, seg)
	s.end += dur
	s.endHits += (r0 + r1) / 2 * dur
}

// Hits is the number of operations (fractional) that the schedule intends to
// have issued by elapsed: the integral of the rate from 0 to elapsed.
func (s *RateSchedule) Hits(elapsed time.Duration) float64 {
	t := elapsed.Seconds()
	if t <= 0 {
		return 0
	}
	if t >= s.end {
		if s.hold {
			return s.endHits + s.tailRate*(t-s.end)
		}
		return s.endHits
	}
	for i := range s.segs {
		g := &s.segs[i]
		if t < g.start+g.dur {
			x := t - g.start
			return g.h0 + g.r0*x + (g.r1-g.r0)*x*x/(2*g.dur)
		}
	}
	return s.endHits
}

// Rate is the intended rate at elapsed, in operations per second.
func (s *RateSchedule) Rate(elapsed time.Duration) float64 {
	t := elapsed.Seconds()
	if t < 0 {
		t = 0
	}
	if t >= s.end {
		if s.hold {
			return s.tailRate
		}
		return 0
	}
	for i := range s.segs {
		g := &s.segs[i]
		if t < g.start+g.dur {
			return g.r0 + (g.r1-g.r0)*(t-g.start)/g.dur
		}
	}
	return 0
}

// Duration is how long the schedule lasts; ok is false when it never stops.
func (s *RateSchedule) Duration() (d time.Duration, ok bool) {
	if s.hold {
		return 0, false
	}
	return secondsToDuration(s.end), true
}

// Due returns when operation n (from 0) is due, as time since the start.
// ok is false when the schedule ends before it; a schedule that holds a zero
// rate for ever returns +Inf seconds as math.MaxInt64.
func (s *RateSchedule) Due(n uint64) (due time.Duration, ok bool) {
	t, ok := s.dueSeconds(float64(n))
	if !ok {
		return 0, false
	}
	if math.IsInf(t, 1) {
		return math.MaxInt64, true
	}
	return secondsToDuration(t), true
}

func (s *RateSchedule) dueSeconds(n float64) (float64, bool) {
	if n < s.endHits {
		for i := range s.segs {
			g := &s.segs[i]
			h1 := g.h0 + (g.r0+g.r1)/2*g.dur
			if n >= h1 {
				continue
			}
			// Solve h0 + r0 x + a x^2 = n for x in [0, dur), a = (r1-r0)/(2 dur),
			// in the form that is stable when a is small or negative.
			c := n - g.h0
			if c <= 0 {
				return g.start, true
			}
			a := (g.r1 - g.r0) / (2 * g.dur)
			disc := g.r0*g.r0 + 4*a*c
			if disc < 0 {
				disc = 0
			}
			den := g.r0 + math.Sqrt(disc)
			if den <= 0 {
				return g.start + g.dur, true
			}
			return g.start + math.Min(2*c/den, g.dur), true
		}
	}
	if !s.hold {
		return 0, false
	}
	if s.tailRate <= 0 {
		return math.Inf(1), true
	}
	return s.end + (n-s.endHits)/s.tailRate, true
}

// Pace implements Pacer: the wait until operation number hits is due
// (negative when it is overdue), or stop once the schedule has ended and no
// operation is left in it.
func (s *RateSchedule) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	t, ok := s.dueSeconds(float64(hits))
	if !ok {
		// Nothing left to issue: still honour the schedule's length (a
		// trailing pause is part of the plan), then stop.
		if end := secondsToDuration(s.end); elapsed < end {
			return end - elapsed, false
		}
		return 0, true
	}
	if math.IsInf(t, 1) {
		return maxPacerWait, false
	}
	wait := secondsToDuration(t) - elapsed
	if wait > maxPacerWait {
		wait = maxPacerWait
	}
	return wait, false
}

func secondsToDuration(s float64) time.Duration {
	ns := s * 1e9
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(math.Round(ns))
}
