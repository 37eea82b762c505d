package check

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// SessionStickiness checks that a device session is served by one region
// unless a failover moved it.
//
// A session's operations that completed ok (probes aside) are taken in
// invoke order, each with the region that served it (Op.Region: after any
// redirect or proxying, so a proxied or redirected request that landed in
// the session's usual region is no move, and one that landed elsewhere is).
// When two consecutive operations a, b were served by different regions the
// move is allowed if
//
//   - either of them carries the Failover flag (a gateway in failover mode
//     served a mis-routed request locally, or the session returns home from
//     such service), or
//   - a routing-changing event (by default a traffic shift, a fault being
//     injected or taking effect, or being recovered or healed: Chaos Kong
//     moves users away and back again) happened after a was invoked (less
//     Grace) and no later than b completed.
//
// Proxied and Redirected flags alone excuse nothing. Any other change of
// region is a violation and names the session.
//
// With Directed, a move is excused only by a routing event that points the
// way it went, and the Failover flag excuses nothing (a gateway in failover
// serves the sessions that reach it; it sends none anywhere): a traffic
// shift history.ShiftEvacuate of region X excuses moves away from X, a
// history.ShiftRestore of X moves to X, a traffic shift of any other name
// (a gateway put in failover) excuses no move, and an event of another
// kind in MoveEvents excuses any move as above. A director that bounces
// sessions between regions, or sends them the wrong way, is then caught
// even while an evacuation shifts traffic every few seconds.
//
// The verdict is invalid on any violation; unknown if no session has two
// served operations; else valid.
type SessionStickiness struct {
	// MoveEvents are the event kinds that may move sessions; nil means
	// TrafficShift, FaultInject, FaultEffect, FaultRecover, FaultHealed.
	MoveEvents []history.EventKind
	// Grace widens the window backwards: an event up to Grace before the
	// earlier operation was invoked still explains the move (routing
	// changes take a while to reach every client).
	Grace time.Duration
	// Directed excuses a move only by an event that points its way (see
	// above), never by the Failover flag alone.
	Directed bool
}

// DefaultMoveEvents are the event kinds that may move a session by default.
var DefaultMoveEvents = []history.EventKind{history.TrafficShift, history.FaultInject, history.FaultEffect, history.FaultRecover, history.FaultHealed}

// Name implements Checker.
func (s *SessionStickiness) Name() string { return "session-stickiness" }

func init() {
	Register(Entry{Description: "a device session stays in one region unless a failover or a traffic shift moved it",
		New: func() Checker { return &SessionStickiness{} }})
}

// Check implements Checker.
func (s *SessionStickiness) Check(x *history.Index) history.Result {
	kinds := s.MoveEvents
	if kinds == nil {
		kinds = DefaultMoveEvents
	}
	evs := x.History.EventsOf(kinds...)
	evTimes := make([]int64, len(evs))
	for i, e := range evs {
		evTimes[i] = e.Time.UnixNano()
	}
	// eventIn reports whether an event in (lo, hi] explains a move from ra
	// to rb.
	eventIn := func(lo, hi int64, ra, rb string) bool {
		for i := sort.Search(len(evTimes), func(i int) bool { return evTimes[i] > lo }); i < len(evTimes) && evTimes[i] <= hi; i++ {
			if !s.Directed || movesTowards(evs[i], ra, rb) {
				return true
			}
		}
		return false
	}

	bySession := map[string][]int32{}
	for i, o := range x.Operations {
		if !o.IsOK() || o.IsProbe() {
			continue
		}
		sess := o.Session()
		if sess == "" || o.Region() == "" {
			continue
		}
		bySession[sess] = append(bySession[sess], int32(i))
	}
	sessions := make([]string, 0, len(bySession))
	for sess := range bySession {
		sessions = append(sessions, sess)
	}
	sort.Strings(sessions)

	var judged, multi, moves, byFailover, byEvent int
	var badSessions []string
	var offenders lines
	for _, sess := range sessions {
		idx := bySession[sess]
		if len(idx) < 2 {
			continue
		}
		judged++
		ops := x.Operations
		slices.SortStableFunc(idx, func(a, b int32) int {
			return ops[a].InvokeTime().Compare(ops[b].InvokeTime())
		})
		moved, bad := false, false
		for i := 1; i < len(idx); i++ {
			a, b := ops[idx[i-1]], ops[idx[i]]
			ra, rb := a.Region(), b.Region()
			if ra == rb {
				continue
			}
			moved = true
			moves++
			switch {
			case !s.Directed && (a.Failover() || b.Failover()):
				byFailover++
			case eventIn(a.InvokeTime().Add(-s.Grace).UnixNano(), b.CompleteTime().UnixNano(), ra, rb):
				byEvent++
			default:
				if !bad {
					badSessions = append(badSessions, sess)
				}
				bad = true
				offenders.add("session %s moved from region %s to region %s at %s with no failover or routing event that moves it so in between",
					sess, label(ra), label(rb), b.InvokeTime().UTC().Format(time.RFC3339Nano))
			}
		}
		if moved {
			multi++
		}
	}
	r := history.Result{Checker: s.Name(), Valid: history.VerdictValid, Figures: map[string]float64{
		"sessions":              float64(len(sessions)),
		"sessions_multi_region": float64(multi),
		"moves":                 float64(moves),
		"moves_failover":        float64(byFailover),
		"moves_after_event":     float64(byEvent),
		"violations":            float64(offenders.total),
		"sessions_violating":    float64(len(badSessions)),
	}}
	switch {
	case len(badSessions) > 0:
		r.Valid = history.VerdictInvalid
		why := "a failover"
		if s.Directed {
			why = "a shift that moved them so"
		}
		r.Reason = fmt.Sprintf("%d sessions served by two regions without %s: %s",
			len(badSessions), why, strings.Join(firstN(badSessions, 5), ", "))
		r.Details = offenders.details()
	case judged == 0:
		r.Valid = history.VerdictUnknown
		r.Reason = "no session has two served operations"
	default:
		r.Reason = fmt.Sprintf("%d sessions checked, %d region moves, all explained: %d by failover, %d by routing events",
			judged, moves, byFailover, byEvent)
	}
	return r
}

// movesTowards says whether event e can send a session from region ra to
// region rb (SessionStickiness.Directed).
func movesTowards(e history.Event, ra, rb string) bool {
	if e.Kind != history.TrafficShift {
		return true
	}
	switch e.Name {
	case history.ShiftEvacuate:
		return e.Target == ra
	case history.ShiftRestore:
		return e.Target == rb
	}
	return false
}
