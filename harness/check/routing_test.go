package check

import (
	"testing"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

func TestSessionStickiness(t *testing.T) {
	sess := func(id, region string, at int) op {
		return op{Session: id, Home: "us-east", Region: region, At: at, Dur: 5}
	}
	cases := []checkCase{
		{
			name:    "each session in one region",
			checker: &SessionStickiness{},
			history: func() *history.History {
				return newHB().add(sess("s1", "us-east", 0), sess("s1", "us-east", 100), sess("s2", "eu-west", 0), sess("s2", "eu-west", 100),
					// failed and probe ops elsewhere do not count
					op{Session: "s1", Region: "eu-west", Type: history.Fail, At: 50, Dur: 5},
					op{Name: history.OpProbe, Session: "s1", Region: "eu-west", At: 60, Dur: 5}).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"sessions": 2, "moves": 0},
		},
		{
			name:    "moved with no reason",
			checker: &SessionStickiness{},
			history: func() *history.History {
				return newHB().add(sess("s1", "us-east", 0), sess("s1", "eu-west", 100), sess("s1", "eu-west", 200),
					sess("s2", "us-east", 0), sess("s2", "us-east", 100)).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"1 sessions served by two regions", "s1"},
			figures: map[string]float64{"violations": 1, "sessions_violating": 1},
		},
		{
			name:    "proxied or redirected does not excuse a move",
			checker: &SessionStickiness{},
			history: func() *history.History {
				b := newHB().add(sess("s1", "us-east", 0))
				o := sess("s1", "eu-west", 100)
				o.Pxy = true
				return b.add(o).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"s1"},
		},
		{
			name:    "moved after a traffic shift",
			checker: &SessionStickiness{},
			history: func() *history.History {
				return newHB().event(history.TrafficShift, "evacuate us-east", 50).
					add(sess("s1", "us-east", 0), sess("s1", "eu-west", 100)).
					event(history.FaultHealed, "evacuate", 150).
					add(sess("s1", "us-east", 200)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"moves": 2, "moves_after_event": 2},
		},
		{
			name:    "moved by failover mode",
			checker: &SessionStickiness{},
			history: func() *history.History {
				fo := sess("s1", "eu-west", 100)
				fo.Failover = true
				return newHB().add(sess("s1", "us-east", 0), fo, sess("s1", "us-east", 200)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"moves_failover": 2},
		},
		{
			name:    "event long before the first op does not explain",
			checker: &SessionStickiness{},
			history: func() *history.History {
				return newHB().event(history.FaultInject, "kill", 0).add(sess("s1", "us-east", 1000), sess("s1", "eu-west", 1100)).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"s1"},
		},
		{
			name:    "grace widens the window",
			checker: &SessionStickiness{Grace: 2 * time.Second},
			history: func() *history.History {
				return newHB().event(history.FaultInject, "kill", 0).add(sess("s1", "us-east", 1000), sess("s1", "eu-west", 1100)).history()
			},
			want: history.VerdictValid,
		},
		{
			name:    "event kinds are configurable",
			checker: &SessionStickiness{MoveEvents: []history.EventKind{history.TrafficShift}},
			history: func() *history.History {
				return newHB().event(history.FaultInject, "kill", 50).add(sess("s1", "us-east", 0), sess("s1", "eu-west", 100)).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"s1"},
		},
		{
			name:    "directed: moves away from an evacuated region and back on its restore",
			checker: &SessionStickiness{Directed: true},
			history: func() *history.History {
				return newHB().shift(history.ShiftEvacuate, "us-east", 50).
					add(sess("s1", "us-east", 0), sess("s1", "eu-west", 100)).
					shift(history.ShiftRestore, "us-east", 150).
					add(sess("s1", "us-east", 200)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"moves": 2, "moves_after_event": 2},
		},
		{
			name:    "directed: a bounce back during an evacuation",
			checker: &SessionStickiness{Directed: true},
			history: func() *history.History {
				return newHB().shift(history.ShiftEvacuate, "us-east", 50).
					add(sess("s1", "us-east", 0), sess("s1", "eu-west", 100)).
					shift(history.ShiftEvacuate, "us-east", 150).
					add(sess("s1", "us-east", 200)).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"1 sessions served by two regions", "s1"},
			figures: map[string]float64{"moves": 2, "moves_after_event": 1, "violations": 1},
		},
		{
			name:    "directed: a failover answer excuses nothing",
			checker: &SessionStickiness{Directed: true},
			history: func() *history.History {
				fo := sess("s1", "eu-west", 100)
				fo.Failover = true
				return newHB().event(history.TrafficShift, "gateway-failover", 50).add(sess("s1", "us-east", 0), fo).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"s1"},
			figures: map[string]float64{"moves_failover": 0, "violations": 1},
		},
		{
			name:    "directed: a fault event still excuses any move",
			checker: &SessionStickiness{Directed: true},
			history: func() *history.History {
				return newHB().event(history.FaultInject, "kill", 50).add(sess("s1", "us-east", 0), sess("s1", "eu-west", 100)).history()
			},
			want: history.VerdictValid,
		},
		{
			name:    "no session with two ops",
			checker: &SessionStickiness{},
			history: func() *history.History {
				return newHB().add(sess("s1", "us-east", 0), sess("s2", "eu-west", 0)).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"no session has two served operations"},
		},
	}
	runCases(t, cases)
}

func TestShedding(t *testing.T) {
	// Each region's clients: 10 operations a second over 3 seconds. Its
	// data tier: 10 queries a second, sampled every second.
	load := func() *hb {
		b := newHB()
		for _, region := range []string{"us-east", "eu-west"} {
			b.many(30, 100, op{Region: region, At: 0, Dur: 5})
			for s := range 4 {
				b.tier(region, 1000*s, uint64(100+10*s))
			}
		}
		return b
	}
	shed := op{Entry: "eu-west", Region: "eu-west", Type: history.Fail, Shed: true, Dur: 2}
	c := &Shedding{MaxShedLatency: 10 * time.Millisecond, MaxDataTierRate: 20}
	cases := []checkCase{
		{
			name:    "fast shedding, bounded data tier",
			checker: c,
			history: func() *history.History { return load().many(100, 1, shed).history() },
			want:    history.VerdictValid,
			figures: map[string]float64{"shed": 100, "shed_latency_p99_ms": 2, "data_tier_max_rate.eu-west": 10, "data_tier_max_rate.us-east": 10,
				"data_tier_queries.eu-west": 30},
		},
		{
			name:    "slow shedding",
			checker: c,
			history: func() *history.History {
				slow := shed
				slow.Dur = 300
				return load().many(100, 1, shed).many(5, 1, slow).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"shed latency p99 300"},
		},
		{
			name:    "thundering herd on the eu-west data tier",
			checker: c,
			history: func() *history.History { return load().many(100, 1, shed).tier("eu-west", 4000, 180).history() },
			want:    history.VerdictInvalid,
			reason:  []string{"region eu-west data tier peak 50 queries/s"},
			figures: map[string]float64{"data_tier_max_rate.eu-west": 50, "data_tier_max_rate.us-east": 10},
		},
		{
			// The clients saw 400 operations a second complete in eu-west;
			// the data tier counted 10 queries a second (the cache served
			// the rest, or a stall released them together): the data
			// tier's own count is judged.
			name:    "the clients' completions are not the data tier's load",
			checker: c,
			history: func() *history.History {
				return load().many(100, 1, shed).many(400, 1, op{Region: "eu-west", At: 1000, Dur: 5, Type: history.Fail}).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"data_tier_max_rate.eu-west": 10},
		},
		{
			// A member service restarted between 3 s and 4 s: its counter
			// began again, the sum fell. That interval is left out, the
			// next one counts.
			name:    "a restarted member service's counter",
			checker: c,
			history: func() *history.History {
				return load().many(100, 1, shed).tier("eu-west", 4000, 40).tier("eu-west", 5000, 75).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"region eu-west data tier peak 35 queries/s"},
			figures: map[string]float64{"data_tier_max_rate.eu-west": 35},
		},
		{
			// A sample 100 ms after the last (the final one, at cleanup)
			// is no rate of its own: 5 queries in 100 ms are not 50 a
			// second; they are measured with the next sample.
			name:    "a sample too close to the last is measured with the next",
			checker: c,
			history: func() *history.History {
				return load().many(100, 1, shed).tier("eu-west", 3100, 135).tier("eu-west", 4000, 145).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"data_tier_max_rate.eu-west": 15},
		},
		{
			name:    "no data-tier samples",
			checker: &Shedding{MaxDataTierRate: 20},
			history: func() *history.History {
				return newHB().many(30, 100, op{Region: "eu-west", At: 0, Dur: 5}).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"no data-tier samples"},
		},
		{
			name:    "no shed operations",
			checker: c,
			history: func() *history.History { return load().history() },
			want:    history.VerdictUnknown,
			reason:  []string{"no shed operations"},
		},
		{
			name:    "rate only, no shedding needed",
			checker: &Shedding{MaxDataTierRate: 20},
			history: func() *history.History { return load().history() },
			want:    history.VerdictValid,
		},
		{
			name:    "goodput while shedding",
			checker: &Shedding{MinGoodput: 8},
			history: func() *history.History { return load().many(30, 100, shed).history() },
			want:    history.VerdictValid,
			reason:  []string{"region eu-west served 10.3 ops/s while it shed (30 admitted in 2.9 s; min 8)"},
		},
		{
			name:    "a gateway that sheds nearly everything",
			checker: &Shedding{MaxShedLatency: 10 * time.Millisecond, MaxDataTierRate: 20, MinGoodput: 20},
			history: func() *history.History { return load().many(30, 100, shed).history() },
			want:    history.VerdictInvalid,
			reason:  []string{"region eu-west served 10.3 ops/s while it shed", "goodput too low"},
			figures: map[string]float64{"goodput_while_shedding.eu-west": 30 / 2.9},
		},
		{
			name:    "goodput needs shedding to judge",
			checker: &Shedding{MinGoodput: 8},
			history: func() *history.History { return load().history() },
			want:    history.VerdictUnknown,
			reason:  []string{"no region shed"},
		},
		{
			name:    "no thresholds",
			checker: &Shedding{},
			history: func() *history.History { return load().history() },
			want:    history.VerdictUnknown,
		},
	}
	runCases(t, cases)
}
