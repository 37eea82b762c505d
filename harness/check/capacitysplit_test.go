package check

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/kongchaos/kong/harness/history"
)

func TestCapacitySplit(t *testing.T) {
	const east, west, eu = "us-east-1", "us-west-2", "eu-west-1"
	expected := map[string]float64{west: 0.75, eu: 0.25}
	// evacuated builds a history of us-east-1 evacuated at 1,000 ms and
	// restored at 20,000 ms, in which sessions of us-east-1's users go to
	// us-west-2 (toWest of them) and eu-west-1 (toEU), each making a
	// request at 5,000 ms and one at 6,000 ms; before the last step, every
	// session still entered us-east-1.
	evacuated := func(toWest, toEU int, extra ...op) func() *history.History {
		return func() *history.History {
			b := newHB().shift(history.ShiftEvacuate, east, 500).shift(history.ShiftEvacuate, east, 1000)
			for i := range toWest + toEU {
				to := west
				if i >= toWest {
					to = eu
				}
				s := "s" + strconv.Itoa(i)
				b.add(op{Session: s, Home: east, Entry: east, Region: east, At: 100},
					op{Session: s, Home: east, Entry: to, Region: to, Failover: true, At: 5000},
					op{Session: s, Home: east, Entry: to, Region: to, Failover: true, At: 6000})
			}
			return b.add(extra...).shift(history.ShiftRestore, east, 20000).history()
		}
	}
	runCases(t, []checkCase{
		{
			name:    "split by spare capacity",
			checker: &CapacitySplit{Region: east, Expected: expected, NoShed: true},
			history: evacuated(60, 20),
			want:    history.VerdictValid,
			reason:  []string{"80 sessions", "us-west-2 75.0% (expected 75.0%)", "no receiving region shed"},
			figures: map[string]float64{"sessions": 80, "share_us-west-2": 0.75, "share_eu-west-1": 0.25, "max_deviation": 0, "shed": 0},
		},
		{
			name:    "split evenly: the director ignored capacity",
			checker: &CapacitySplit{Region: east, Expected: expected},
			history: evacuated(40, 40),
			want:    history.VerdictInvalid,
			reason:  []string{"off capacity by 25.0 points", "eu-west-1 50.0% (expected 25.0%)"},
			figures: map[string]float64{"share_eu-west-1": 0.5},
		},
		{
			name:    "a small deviation is within three standard errors",
			checker: &CapacitySplit{Region: east, Expected: expected},
			history: evacuated(56, 24),
			want:    history.VerdictValid,
		},
		{
			name:    "a receiving region shed a request",
			checker: &CapacitySplit{Region: east, Expected: expected, NoShed: true},
			history: evacuated(60, 20, op{Session: "w1", Home: west, Entry: eu, Shed: true, Type: history.Fail, At: 7000}),
			want:    history.VerdictInvalid,
			reason:  []string{"1 requests shed by a receiving region"},
			figures: map[string]float64{"shed": 1},
		},
		{
			name:    "sheds outside the evacuation do not count",
			checker: &CapacitySplit{Region: east, Expected: expected, NoShed: true},
			history: evacuated(60, 20, op{Session: "w1", Home: west, Entry: eu, Shed: true, Type: history.Fail, At: 25000}),
			want:    history.VerdictValid,
		},
		{
			name:    "sheds are not judged unless asked",
			checker: &CapacitySplit{Region: east, Expected: expected},
			history: evacuated(60, 20, op{Session: "w1", Home: west, Entry: eu, Shed: true, Type: history.Fail, At: 7000}),
			want:    history.VerdictValid,
		},
		{
			name:    "the split derived from the capacities the evacuation carried",
			checker: &CapacitySplit{},
			history: func() *history.History {
				h := evacuated(60, 20)()
				for i, e := range h.Events {
					if e.Name == history.ShiftEvacuate {
						h.Events[i].Detail = map[string]string{"fraction": "1", history.CapacityDetail + east: "400",
							history.CapacityDetail + west: "300", history.CapacityDetail + eu: "200"}
					}
				}
				return h
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"expected_us-west-2": 0.75, "expected_eu-west-1": 0.25},
		},
		{
			name:    "settling: requests right after the last step do not count",
			checker: &CapacitySplit{Region: east, Expected: expected, Settle: 4500 * time.Millisecond},
			history: evacuated(60, 20, op{Session: "s0", Home: east, Entry: east, At: 1200}, op{Session: "s0", Home: east, Entry: east, At: 1300}),
			want:    history.VerdictValid,
			figures: map[string]float64{"sessions": 80},
		},
		{
			name:    "too few sessions to judge",
			checker: &CapacitySplit{Region: east, Expected: expected},
			history: evacuated(3, 1),
			want:    history.VerdictUnknown,
			reason:  []string{"4 sessions", "fewer than the 20 needed"},
		},
		{
			name:    "no evacuation",
			checker: &CapacitySplit{Region: east, Expected: expected},
			history: func() *history.History {
				return newHB().add(op{Session: "s", Home: east, Entry: east, At: 1}).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"no evacuation of us-east-1"},
		},
		{
			name:    "users left in the evacuated region count against it",
			checker: &CapacitySplit{Region: east, Expected: expected, Tolerance: 0.05},
			history: evacuated(60, 20, op{Session: "stuck1", Home: east, Entry: east, At: 5000}, op{Session: "stuck2", Home: east, Entry: east, At: 5000},
				op{Session: "stuck3", Home: east, Entry: east, At: 5000}, op{Session: "stuck4", Home: east, Entry: east, At: 5000},
				op{Session: "stuck5", Home: east, Entry: east, At: 5000}),
			want:   history.VerdictInvalid,
			reason: []string{"us-east-1 5.9% (expected 0.0%)"},
		},
	})
}

func TestSpareCapacitySplit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		caps   map[string]float64
		region string
		want   map[string]float64
	}{
		{"global: spare 150 and 50", map[string]float64{"e": 400, "w": 300, "u": 200}, "e", map[string]float64{"w": 0.75, "u": 0.25}},
		{"global, another region: spare 250 and 50", map[string]float64{"e": 400, "w": 300, "u": 200}, "w", map[string]float64{"e": 250.0 / 300, "u": 50.0 / 300}},
		{"no capacity known: even", map[string]float64{"e": 0, "w": 0, "u": 0}, "e", map[string]float64{"w": 0.5, "u": 0.5}},
		{"one unknown takes the mean", map[string]float64{"e": 400, "w": 0, "u": 200}, "e", map[string]float64{"w": 0.75, "u": 0.25}},
		{"two regions: all to the other", map[string]float64{"e": 0, "w": 0}, "e", map[string]float64{"w": 1}},
		{"no spare anywhere: by capacity", map[string]float64{"e": 1000, "w": 150, "u": 100}, "e", map[string]float64{"w": 0.6, "u": 0.4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SpareCapacitySplit(tc.caps, tc.region)
			assert.Len(t, got, len(tc.want))
			for r, w := range tc.want {
				assert.InDelta(t, w, got[r], 1e-9, r)
			}
		})
	}
}
