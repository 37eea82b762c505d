package check

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// HomeRouting checks that every request is answered by its member's home
// region, unless a gateway in failover mode served it elsewhere, and that
// the answer says how it got there.
//
// Each completed ok user operation with a known home and serving region is
// judged. Served by the home region: valid; if it entered at another region
// (a misrouted member) the answer must say how it got home (proxied over
// the isthmus, or redirected). Served by another region: valid only when
// marked as a failover. Figures count the operations by path: direct,
// proxied, redirected, failover, and the violations.
type HomeRouting struct {
	// MinMisrouted is the least number of misrouted operations (entry region
	// other than home) for the check to be meaningful; fewer give unknown.
	// 0 means 1.
	MinMisrouted int
	// FailoverDuring, when set, names the faults during which a failover
	// answer is expected: one is excused only when its request was invoked
	// while such a fault was in force (from its injection to its recovery,
	// as the history's fault events say). A gateway in failover outside
	// them (a round that should proxy or redirect) is then a violation,
	// however its answers are marked.
	FailoverDuring []string
}

// Name implements Checker.
func (c *HomeRouting) Name() string { return "home-routing" }

func init() {
	Register(Entry{Description: "each request is answered by its member's home region, or elsewhere only in failover, and says how it got there",
		New: func() Checker { return &HomeRouting{} }})
}

// Check implements Checker.
func (c *HomeRouting) Check(x *history.Index) history.Result {
	var direct, proxied, redirected, failover, misrouted, away, unexplained, untimely int
	var offenders lines
	windows := faultWindows(x.History, c.FailoverDuring)
	for _, o := range x.Operations {
		if !o.IsOK() || o.IsProbe() || o.Home() == "" || o.Region() == "" {
			continue
		}
		home, served, entry := o.Home(), o.Region(), o.Entry()
		if entry != "" && entry != home {
			misrouted++
		}
		at := o.InvokeTime().UTC().Format(time.RFC3339Nano)
		switch {
		case served != home && o.Failover() && c.FailoverDuring != nil && !windows.contain(o.InvokeTime()):
			untimely++
			offenders.add("%s of member %s (home %s) was answered by region %s in failover outside %s, at %s",
				o.Name(), o.Member(), home, served, strings.Join(c.FailoverDuring, ", "), at)
		case served != home && o.Failover():
			failover++
		case served != home:
			away++
			offenders.add("%s of member %s (home %s, entered at %s) was answered by region %s, not in failover, at %s",
				o.Name(), o.Member(), home, label(entry), served, at)
		case o.Proxied():
			proxied++
		case o.Redirected():
			redirected++
		case entry != "" && entry != home:
			unexplained++
			offenders.add("%s of member %s entered at %s and was answered by its home %s without saying how (no proxy or redirect mark), at %s",
				o.Name(), o.Member(), entry, home, at)
		default:
			direct++
		}
	}
	r := history.Result{Checker: c.Name(), Valid: history.VerdictValid, Figures: map[string]float64{
		"direct": float64(direct), "proxied": float64(proxied), "redirected": float64(redirected),
		"failover": float64(failover), "misrouted": float64(misrouted),
		"answered_away_from_home": float64(away), "unexplained": float64(unexplained), "failover_out_of_turn": float64(untimely),
	}}
	minMis := max(c.MinMisrouted, 1)
	switch {
	case away+unexplained+untimely > 0:
		r.Valid = history.VerdictInvalid
		var parts []string
		if away > 0 {
			parts = append(parts, fmt.Sprintf("%d requests answered outside their home region without failover", away))
		}
		if unexplained > 0 {
			parts = append(parts, fmt.Sprintf("%d misrouted requests answered at home without saying how", unexplained))
		}
		if untimely > 0 {
			parts = append(parts, fmt.Sprintf("%d requests answered in failover outside %s", untimely, strings.Join(c.FailoverDuring, ", ")))
		}
		r.Reason = strings.Join(parts, "; ")
		r.Details = offenders.details()
	case misrouted < minMis:
		r.Valid = history.VerdictUnknown
		r.Reason = fmt.Sprintf("%d misrouted requests, fewer than the %d needed to judge the routing", misrouted, minMis)
	default:
		r.Reason = fmt.Sprintf("%d misrouted requests all answered correctly: %d proxied, %d redirected, %d in failover; %d direct",
			misrouted, proxied, redirected, failover, direct)
	}
	return r
}

// windows are the spans during which some fault was in force.
type windows [][2]time.Time

func (w windows) contain(t time.Time) bool {
	for _, s := range w {
		if !t.Before(s[0]) && (s[1].IsZero() || !t.After(s[1])) {
			return true
		}
	}
	return false
}

// faultWindows are the spans from the injection (FaultInject) of each fault
// named in names to its recovery seen to take effect (FaultHealed, else
// FaultRecover; open when neither came).
func faultWindows(h *history.History, names []string) windows {
	var out windows
	open := map[string]int{}
	for _, e := range h.Events {
		if !slices.Contains(names, e.Name) {
			continue
		}
		switch e.Kind {
		case history.FaultInject:
			open[e.Name] = len(out)
			out = append(out, [2]time.Time{e.Time})
		case history.FaultRecover, history.FaultHealed:
			if i, ok := open[e.Name]; ok {
				out[i][1] = e.Time
			}
		}
	}
	return out
}
