package check

import (
	"testing"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

func TestLatency(t *testing.T) {
	// 100 steady-state ops at 10ms (p99 10ms), then an inject phase.
	base := func() *hb {
		return newHB().phase("steady-state", 0).phase("inject", 10_000).phase("recover", 20_000).
			many(100, 10, op{Region: "us-east", Dur: 10}).
			many(100, 10, op{Region: "eu-west", Dur: 10})
	}
	cases := []checkCase{
		{
			name:    "inject within twice the baseline",
			checker: NewLatency("steady-state", 2),
			history: func() *history.History {
				return base().many(100, 10, op{Region: "eu-west", At: 10_000, Dur: 15}).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"latency_p99_ms.all.steady-state": 10, "latency_p99_ms.all.inject": 15},
		},
		{
			name:    "inject over budget",
			checker: NewLatency("steady-state", 2),
			history: func() *history.History {
				return base().
					many(100, 10, op{Region: "us-east", At: 10_000, Dur: 12}).
					many(100, 10, op{Region: "us-east", At: 20_000, Dur: 50}).
					history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"phase recover", "p99 50.0", "budget 20.0"},
		},
		{
			name:    "per region names the region",
			checker: &Latency{Baseline: "steady-state", Factor: 2, ByRegion: true},
			history: func() *history.History {
				return base().
					many(100, 10, op{Region: "us-east", At: 10_000, Dur: 12}).
					many(100, 10, op{Region: "eu-west", At: 10_000, Dur: 45}).
					history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"region eu-west phase inject"},
		},
		{
			name:    "floor lifts a tiny budget",
			checker: &Latency{Baseline: "steady-state", Factor: 2, Floor: 100 * time.Millisecond},
			history: func() *history.History {
				return base().many(100, 10, op{Region: "us-east", At: 20_000, Dur: 50}).history()
			},
			want: history.VerdictValid,
		},
		{
			name:    "an absolute budget judges the steady state too",
			checker: &Latency{Max: 8 * time.Millisecond},
			history: func() *history.History {
				return base().many(100, 10, op{Region: "us-east", At: 10_000, Dur: 5}).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"phase steady-state", "p99 10.0", "budget 8ms"},
		},
		{
			name:    "an absolute budget is not raised by a slow steady state",
			checker: &Latency{Factor: 1, Floor: 5 * time.Millisecond, Max: 12 * time.Millisecond, ByRegion: true},
			history: func() *history.History {
				return base().many(100, 10, op{Region: "us-east", At: 10_000, Dur: 11}).
					many(100, 10, op{Region: "eu-west", At: 10_000, Dur: 13}).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"region eu-west phase inject", "budget 12ms"},
		},
		{
			name:    "within an absolute budget",
			checker: &Latency{Max: 12 * time.Millisecond, ByRegion: true},
			history: func() *history.History {
				return base().many(100, 10, op{Region: "us-east", At: 10_000, Dur: 11}).history()
			},
			want:   history.VerdictValid,
			reason: []string{"every phase's p99 within 12ms"},
		},
		{
			name:    "failed and shed ops do not count",
			checker: NewLatency("steady-state", 2),
			history: func() *history.History {
				return base().
					many(100, 10, op{Region: "us-east", At: 10_000, Dur: 12}).
					many(50, 10, op{Type: history.Fail, At: 10_000, Dur: 5000}).
					many(50, 10, op{Type: history.OK, Shed: true, At: 10_000, Dur: 500}).
					history()
			},
			want: history.VerdictValid,
		},
		{
			name:    "no baseline data",
			checker: NewLatency("steady-state", 2),
			history: func() *history.History {
				return newHB().phase("steady-state", 0).phase("inject", 10_000).
					many(100, 10, op{Region: "us-east", At: 10_000, Dur: 12}).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"baseline phase steady-state: 0 ok operations"},
		},
		{
			name:    "sparse phase with MinOps",
			checker: &Latency{Baseline: "steady-state", Factor: 2, MinOps: 50},
			history: func() *history.History {
				return base().many(10, 10, op{Region: "us-east", At: 10_000, Dur: 12}).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"phase inject: 10 ok operations < 50"},
		},
	}
	runCases(t, cases)
}

func TestLatencyDefaults(t *testing.T) {
	b := newHB().phase("steady-state", 0).phase("inject", 10_000).
		many(100, 10, op{Dur: 10}).many(100, 10, op{At: 10_000, Dur: 25})
	r := (&Latency{}).Check(history.NewIndex(b.history()))
	if r.Valid != history.VerdictInvalid {
		t.Fatalf("zero Latency should default to steady-state x2 at p99: %s %s", r.Valid, r.Reason)
	}
}
