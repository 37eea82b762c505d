package check

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/kongchaos/kong/harness/history"
)

func TestAvailability(t *testing.T) {
	steady := func(b *hb) *hb {
		return b.phase("steady-state", 0).phase("inject", 10_000).
			many(100, 10, op{Home: "us-east", Region: "us-east", Dur: 5}).
			many(100, 10, op{Home: "eu-west", Region: "eu-west", Dur: 5})
	}
	// euWestInject is the steady state, then in the inject phase the given
	// numbers of eu-west's requests served and failed.
	euWestInject := func(served, failed int) *hb {
		return steady(newHB()).
			many(served, 10, op{Home: "eu-west", Region: "eu-west", At: 10_000, Dur: 5}).
			many(failed, 10, op{Home: "eu-west", Type: history.Fail, At: 11_000, Dur: 5})
	}
	cases := []checkCase{
		{
			name:    "all ok",
			checker: &Availability{SLO: 0.99, MinOps: 50},
			history: func() *history.History { return steady(newHB()).history() },
			want:    history.VerdictValid,
			figures: map[string]float64{"availability.us-east.steady-state": 1, "availability.eu-west.steady-state": 1,
				FigJudged: 1, FigJudgedSLO: 0.99, FigShedExcluded: 0},
		},
		{
			name:    "eu-west fails during inject",
			checker: &Availability{SLO: 0.99, MinOps: 50},
			history: func() *history.History {
				return euWestInject(90, 10).many(100, 10, op{Home: "us-east", Region: "us-east", At: 10_000, Dur: 5}).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"region eu-west phase inject", "0.9000"},
			figures: map[string]float64{"availability.eu-west.inject": 0.9, "availability.us-east.inject": 1, FigJudged: 0.9, FigJudgedSLO: 0.99},
		},
		{
			name:    "info counts against",
			checker: &Availability{SLO: 0.99, MinOps: 50},
			history: func() *history.History {
				return steady(newHB()).many(5, 10, op{Home: "us-east", Type: history.Info, At: 500, Dur: 5}).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"region us-east phase steady-state"},
		},
		{
			name:    "entry wins over home",
			checker: &Availability{SLO: 0.99, MinOps: 50},
			history: func() *history.History {
				return steady(newHB()).many(60, 10, op{Home: "us-east", Entry: "ap-south", Type: history.Fail, At: 12_000, Dur: 5}).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"region ap-south phase inject"},
		},
		{
			name:    "phase override accepts",
			checker: &Availability{SLO: 0.99, MinOps: 50, PhaseSLO: map[string]float64{"inject": 0.5}},
			history: func() *history.History { return euWestInject(90, 10).history() },
			want:    history.VerdictValid,
			// Nearest its SLO: steady state at 1 against 0.99, not inject
			// at 0.9 against 0.5.
			figures: map[string]float64{"availability.eu-west.inject": 0.9, FigJudged: 1, FigJudgedSLO: 0.99},
		},
		{
			name:    "a phase with SLO 0 is measured, not judged",
			checker: &Availability{SLO: 0.99, MinOps: 50, PhaseSLO: map[string]float64{"inject": 0}},
			history: func() *history.History { return euWestInject(20, 80).history() },
			want:    history.VerdictValid,
			figures: map[string]float64{"availability.eu-west.inject": 0.2, FigJudged: 1, FigJudgedSLO: 0.99},
		},
		{
			name:    "shed counts as failure",
			checker: &Availability{SLO: 0.99, MinOps: 50},
			history: func() *history.History {
				return steady(newHB()).many(5, 10, op{Home: "us-east", Region: "us-east", Type: history.Fail, Shed: true, At: 200, Dur: 1}).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"region us-east phase steady-state"},
		},
		{
			name:    "shed allowed",
			checker: &Availability{SLO: 0.99, MinOps: 50, AllowShed: true},
			history: func() *history.History {
				return steady(newHB()).many(5, 10, op{Home: "us-east", Region: "us-east", Type: history.Fail, Shed: true, At: 200, Dur: 1}).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"shed": 5, FigJudged: 1, FigJudgedSLO: 0.99, FigShedExcluded: 1},
		},
		{
			name:    "probes and pending invokes ignored",
			checker: &Availability{SLO: 0.99, MinOps: 50},
			history: func() *history.History {
				return steady(newHB()).
					many(10, 10, op{Name: history.OpProbe, Home: "us-east", Type: history.Fail, At: 500, Dur: 5}).
					many(10, 10, op{Home: "us-east", At: 500, NoCompletion: true}).
					history()
			},
			want: history.VerdictValid,
		},
		{
			name:    "too few operations",
			checker: &Availability{SLO: 0.99, MinOps: 50},
			history: func() *history.History {
				return steady(newHB()).many(3, 10, op{Home: "eu-west", Region: "eu-west", At: 10_000, Dur: 5}).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"region eu-west phase inject: 3 operations < 50"},
		},
		{
			name:    "empty history",
			checker: NewAvailability(0.999),
			history: func() *history.History { return &history.History{} },
			want:    history.VerdictUnknown,
		},
	}
	runCases(t, cases)
}

func TestAvailabilityPhaseFromRecordOrTimeline(t *testing.T) {
	// Ops without a recorded phase take the phase under way at invoke; a
	// recorded phase wins over the timeline.
	b := newHB().phase("steady-state", 0).phase("inject", 1000)
	b.many(10, 10, op{Home: "us-east", Region: "us-east", At: 1500, Dur: 5})
	b.many(10, 10, op{Home: "us-east", Type: history.Fail, At: 1500, Dur: 5, Phase: "observe"})
	r := (&Availability{SLO: 0.9, MinOps: 1}).Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictInvalid, r.Valid)
	assert.Equal(t, 1.0, r.Figures["availability.us-east.inject"])
	assert.Equal(t, 0.0, r.Figures["availability.us-east.observe"])
	assert.Contains(t, r.Reason, "region us-east phase observe")
}

// generatorNote adds the generator report the runner records when the
// traffic stops.
func generatorNote(b *hb, kept bool) *hb {
	g := history.GeneratorReport{Requested: 200, Started: 150, Dropped: 50, Kept: kept,
		Reason: "the generator was the bottleneck: started 150 of 200 requested operations"}
	if kept {
		g.Started, g.Dropped, g.Reason = 200, 0, "the generator kept the requested rate"
	}
	b.h.Events = append(b.h.Events, g.Event(b.at(20_000)))
	return b
}

// Availability counts what was sent: when the generator did not keep its
// schedule, a pass is not known (requests it delayed may have missed the
// fault), and the report says why.
func TestAvailabilityUnknownWhenTheGeneratorFellBehind(t *testing.T) {
	healthy := func() *hb {
		return newHB().phase("steady-state", 0).phase("inject", 10_000).
			many(100, 10, op{Home: "us-east", Region: "us-east", Dur: 5}).
			many(100, 10, op{Home: "us-east", Region: "us-east", At: 10_000, Dur: 5})
	}
	a := &Availability{SLO: 0.99, MinOps: 50}
	r := a.Check(history.NewIndex(generatorNote(healthy(), true).history()))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	assert.Equal(t, 1.0, r.Figures["generator_kept"])

	r = a.Check(history.NewIndex(generatorNote(healthy(), false).history()))
	assert.Equal(t, history.VerdictUnknown, r.Valid)
	assert.Contains(t, r.Reason, "the load generator did not keep its schedule")
	assert.Contains(t, r.Reason, "50 due at the stop were never sent")
	assert.Contains(t, r.Reason, "started 150 of 200 requested operations")
	assert.Equal(t, 50.0, r.Figures["generator_dropped"])

	broken := generatorNote(healthy(), false).many(20, 10, op{Home: "us-east", Type: history.Fail, At: 11_000, Dur: 5})
	r = a.Check(history.NewIndex(broken.history()))
	assert.Equal(t, history.VerdictInvalid, r.Valid, "the failures it saw happened")
	assert.Contains(t, r.Details[0], "the load generator did not keep its schedule")
}

// A request due in inject that a stalled generator sent in observe is
// judged in inject.
func TestAvailabilityByIntendedTime(t *testing.T) {
	b := newHB().phase("steady-state", 0).phase("inject", 10_000).phase("observe", 20_000).
		many(100, 10, op{Home: "us-east", Region: "us-east", At: 10_000, Dur: 5}).
		many(100, 10, op{Home: "us-east", Region: "us-east", At: 20_000, Dur: 5})
	// Ten failures due at 19.9 s, sent at 21 s.
	for i := range 10 {
		b.add(op{Home: "us-east", Type: history.Fail, At: 21_000 + i, Dur: 5, Phase: "observe"})
		b.h.Ops[len(b.h.Ops)-2].Due = b.at(19_900 + i)
	}
	r := (&Availability{SLO: 0.95, MinOps: 50}).Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictInvalid, r.Valid)
	assert.InDelta(t, 100.0/110, r.Figures["availability.us-east.inject"], 1e-9)
	assert.Equal(t, 1.0, r.Figures["availability.us-east.observe"])
}

// A near-empty phase (the recover phase after an interval fault) is not
// judged at 99.9 % on a handful of operations when no minimum was asked for:
// it is listed as not judged; the phases with enough operations are judged.
func TestAvailabilityLeavesNearEmptyPhasesUnjudged(t *testing.T) {
	b := newHB().phase("steady-state", 0).phase("recover", 10_000).phase("converge", 10_300).
		many(100, 10, op{Home: "us-east", Region: "us-east", Dur: 5}).
		many(4, 10, op{Home: "us-east", Region: "us-east", At: 10_000, Dur: 5}).
		add(op{Home: "us-east", Type: history.Fail, At: 10_100, Dur: 5}).
		many(100, 10, op{Home: "us-east", Region: "us-east", At: 10_300, Dur: 5})
	r := (&Availability{SLO: 0.999}).Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	assert.Contains(t, r.Reason, "all 2 region/phase pairs at or above SLO (1 with fewer than 20 operations not judged)")
	assert.Contains(t, r.Details, "region us-east phase recover not judged: 5 operations (4 ok) < 20")
	assert.NotContains(t, r.Figures, "availability.us-east.recover")

	// Twenty operations and one failure: judged, and below 99.9 %.
	b.many(15, 10, op{Home: "us-east", Region: "us-east", At: 10_150, Dur: 5})
	r = (&Availability{SLO: 0.999}).Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictInvalid, r.Valid)
	assert.Contains(t, r.Reason, "region us-east phase recover: availability 0.9500")

	// Nothing judged at all: unknown.
	few := newHB().phase("steady-state", 0).many(5, 10, op{Home: "us-east", Region: "us-east", Dur: 5})
	r = (&Availability{SLO: 0.999}).Check(history.NewIndex(few.history()))
	assert.Equal(t, history.VerdictUnknown, r.Valid)
	assert.Contains(t, r.Reason, "too few operations to judge any region and phase")
}

// The users of the Degraded region are followed wherever the director sent
// them: their availability in each judged phase is recorded beside the
// pairs', the measured-only phase (SLO 0) left out.
func TestAvailabilityFollowsTheDegradedRegionsUsers(t *testing.T) {
	b := newHB().phase("steady-state", 0).phase("inject", 10_000).phase("observe", 20_000).
		many(100, 10, op{Home: "us-east", Entry: "us-east", Region: "us-east", Dur: 5}).
		many(100, 10, op{Home: "eu-west", Entry: "eu-west", Region: "eu-west", Dur: 5}).
		many(80, 10, op{Home: "us-east", Entry: "us-east", Type: history.Fail, At: 10_000, Dur: 5}).
		many(97, 10, op{Home: "us-east", Entry: "eu-west", Region: "eu-west", At: 20_000, Dur: 5}).
		many(3, 10, op{Home: "us-east", Entry: "eu-west", Type: history.Fail, At: 21_000, Dur: 5}).
		many(100, 10, op{Home: "eu-west", Entry: "eu-west", Region: "eu-west", At: 20_000, Dur: 5})
	a := &Availability{SLO: 0.95, PhaseSLO: map[string]float64{"inject": 0}, Degraded: "us-east"}
	r := a.Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	assert.Equal(t, 1.0, r.Figures["degraded.steady-state"])
	assert.InDelta(t, 0.97, r.Figures["degraded.observe"], 1e-12, "the moved users, served from eu-west")
	assert.NotContains(t, r.Figures, "degraded.inject", "measured, not judged")
	assert.InDelta(t, 0.97, r.Figures[FigDegraded], 1e-12)
	assert.InDelta(t, 0.985, r.Figures[FigJudged], 1e-12, "eu-west in observe: its own users and the moved ones")
	assert.Equal(t, 0.95, r.Figures[FigJudgedSLO])

	r = (&Availability{SLO: 0.95}).Check(history.NewIndex(b.history()))
	assert.NotContains(t, r.Figures, FigDegraded, "no Degraded region")
}

// A generator that kept its rate but sent some requests late: when none
// of the late ones was due while the world was disturbed, none can have
// missed a fault, and availability is judged; when they were due during a
// fault, it is unknown as before.
func TestAvailabilityJudgedWhenLateRequestsMissedNoFault(t *testing.T) {
	lateNote := func(b *hb) *hb {
		g := history.GeneratorReport{Requested: 210, Started: 210, Late: 10, LateThreshold: 250 * time.Millisecond,
			LateTolerance: 0.01, RateKept: true, Reason: "the generator was the bottleneck: started 210 of 210 requested operations; 10 started more than 250ms late"}
		b.h.Events = append(b.h.Events, g.Event(b.at(30_000)))
		return b
	}
	// Ten requests sent 1 s after they were due, at 5.0 to 5.9 s.
	world := func(faultAt int) *hb {
		b := newHB().phase("steady-state", 0).phase("observe", 10_000).
			many(100, 10, op{Home: "us-east", Region: "us-east", Dur: 5}).
			many(100, 10, op{Home: "us-east", Region: "us-east", At: 10_000, Dur: 5})
		for i := range 10 {
			b.add(op{Home: "us-east", Region: "us-east", At: 6_000 + 100*i, Dur: 5})
			b.h.Ops[len(b.h.Ops)-2].Due = b.at(5_000 + 100*i)
		}
		for i, o := range b.h.Ops {
			if o.Type == history.Invoke && o.Due.IsZero() {
				b.h.Ops[i].Due = o.Time // sent on time
			}
		}
		if faultAt >= 0 {
			b.event(history.FaultInject, "kill-instance", faultAt).event(history.FaultHealed, "kill-instance", faultAt+4_000)
		}
		return lateNote(b)
	}
	a := &Availability{SLO: 0.99, MinOps: 50}

	r := a.Check(history.NewIndex(world(-1).history()))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	assert.Contains(t, strings.Join(r.Details, "\n"), "the load generator sent 10 requests more than 250ms late, but no fault was injected")

	r = a.Check(history.NewIndex(world(10_000).history()))
	assert.Equal(t, history.VerdictValid, r.Valid, "the late requests were due before the fault: %s", r.Reason)
	assert.Contains(t, strings.Join(r.Details, "\n"), "0 of the 100 requests due while the world was disturbed (faults, traffic shifts) were late")

	r = a.Check(history.NewIndex(world(4_000).history()))
	assert.Equal(t, history.VerdictUnknown, r.Valid, "late requests due during the fault may have missed it")
	assert.Contains(t, r.Reason, "the load generator did not keep its schedule")

	// A fault never healed leaves the world disturbed to the end.
	b := world(-1)
	b.event(history.FaultInject, "partition", 3_000)
	r = a.Check(history.NewIndex(b.history()))
	assert.Equal(t, history.VerdictUnknown, r.Valid, r.Reason)
}
