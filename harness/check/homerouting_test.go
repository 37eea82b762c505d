package check

import (
	"testing"

	"github.com/kongchaos/kong/harness/history"
)

func TestHomeRouting(t *testing.T) {
	home := func(at int) op { return op{Home: "us-east", Entry: "us-east", Region: "us-east", At: at, Dur: 5} }
	mis := func(at int) op { return op{Home: "us-west", Entry: "us-east", At: at, Dur: 5} }
	with := func(o op, f func(*op)) op { f(&o); return o }
	runCases(t, []checkCase{
		{
			name:    "misrouted members proxied or redirected home",
			checker: &HomeRouting{},
			history: func() *history.History {
				return newHB().add(home(0), home(10),
					with(mis(20), func(o *op) { o.Region, o.Pxy = "us-west", true }),
					with(mis(30), func(o *op) { o.Region, o.Redir = "us-west", true }),
					// failed operations are not judged
					with(mis(40), func(o *op) { o.Type, o.Region = history.Fail, "us-east" })).history()
			},
			want:    history.VerdictValid,
			reason:  []string{"2 misrouted", "1 proxied", "1 redirected"},
			figures: map[string]float64{"direct": 2, "proxied": 1, "redirected": 1, "misrouted": 2},
		},
		{
			name:    "served away from home in failover mode",
			checker: &HomeRouting{},
			history: func() *history.History {
				return newHB().add(with(mis(0), func(o *op) { o.Region, o.Failover = "us-east", true })).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"failover": 1},
		},
		{
			name:    "failover answers only while the failover round is in force",
			checker: &HomeRouting{FailoverDuring: []string{"misrouted-failover"}},
			history: func() *history.History {
				fo := func(at int) op { return with(mis(at), func(o *op) { o.Region, o.Failover = "us-east", true }) }
				return newHB().event(history.FaultInject, "misrouted-failover", 100).add(fo(200)).
					event(history.FaultHealed, "misrouted-failover", 300).add(fo(400)).
					event(history.FaultInject, "misrouted-isthmus", 500).add(fo(600)).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"2 requests answered in failover outside misrouted-failover"},
			figures: map[string]float64{"failover": 1, "failover_out_of_turn": 2},
		},
		{
			name:    "failover answers within the failover round",
			checker: &HomeRouting{FailoverDuring: []string{"misrouted-failover"}},
			history: func() *history.History {
				fo := func(at int) op { return with(mis(at), func(o *op) { o.Region, o.Failover = "us-east", true }) }
				return newHB().event(history.FaultInject, "misrouted-failover", 100).add(fo(200), fo(250)).history()
			},
			want:    history.VerdictValid,
			figures: map[string]float64{"failover": 2, "failover_out_of_turn": 0},
		},
		{
			name:    "served by the wrong region without failover",
			checker: &HomeRouting{},
			history: func() *history.History {
				return newHB().add(with(mis(0), func(o *op) { o.Region, o.Pxy = "us-east", true }), home(10)).history()
			},
			want:    history.VerdictInvalid,
			reason:  []string{"1 requests answered outside their home region without failover"},
			figures: map[string]float64{"answered_away_from_home": 1},
		},
		{
			name:    "answered at home without saying how",
			checker: &HomeRouting{},
			history: func() *history.History {
				return newHB().add(with(mis(0), func(o *op) { o.Region = "us-west" })).history()
			},
			want:   history.VerdictInvalid,
			reason: []string{"without saying how"},
		},
		{
			name:    "no misrouted traffic to judge",
			checker: &HomeRouting{MinMisrouted: 2},
			history: func() *history.History {
				return newHB().add(home(0), with(mis(10), func(o *op) { o.Region, o.Pxy = "us-west", true })).history()
			},
			want:   history.VerdictUnknown,
			reason: []string{"fewer than the 2 needed"},
		},
	})
}
