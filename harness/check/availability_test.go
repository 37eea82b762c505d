package check

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kongchaos/kong/harness/history"
)

func TestAvailability(t *testing.T) {
	steady := func(b *hb) *hb {
		return b.phase("steady-state", 0).phase("inject", 10_000).
			many(100, 10, op{Home: "us-east", Region: "us-east", Dur: 5}).
			many(100, 10, op{Home: "eu-west", Region: "eu-west", Dur: 5})
	}
	cases := []checkCase{
		{
			name:    "all ok",
			checker: &Availability{SLO: 0.99, MinOps: 50},
			history: func() *history.History { return steady(newHB()).history() },
			want:    history.VerdictValid,
			figures: map[string]float64{"availability.us-east.steady-state": 1, "availability.eu-west.steady-state": 1},
		},
		{
			name:    "eu-west fails during inject",
			checker: &Availability{SLO: 0.99, MinOps: 50},
			history: func() *history.History {
				return steady(newHB()).
					many(90, 10, op{Home: "eu-west", Region: "eu-west", At: 10_000, Dur: 5}).
					many(10, 10, op{Home: "eu-west", Type: history.Fail, At: 11_000, Dur: 5}).
					many(100, 10, op{Home: "us-east", Region: "us-east", At: 10_000, Dur: 5}).
					history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"region eu-west phase inject", "0.9000"},
			figures: map[string]float64{"availability.eu-west.inject": 0.9, "availability.us-east.inject": 1},
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
			history: func() *history.History {
				return steady(newHB()).
					many(90, 10, op{Home: "eu-west", Region: "eu-west", At: 10_000, Dur: 5}).
					many(10, 10, op{Home: "eu-west", Type: history.Fail, At: 11_000, Dur: 5}).
					history()
			},
			want: history.VerdictValid,
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
			figures: map[string]float64{"shed": 5},
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
