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
