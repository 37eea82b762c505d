package check

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// Convergence measures how long after a fault healed every region returned
// the latest acknowledged data, and checks it against MaxConvergence.
//
// The heal is the last FaultHealed event (the recovery seen to take effect),
// else the last FaultRecover event; Fault, when set, keeps only events of that
// name. The probes considered are those (OpProbe, completed ok) invoked at
// or after the heal. A probe of a key is fresh when it returns at least the
// newest version of that key acknowledged before it was invoked (a key never
// written is always fresh), else stale. A probe of a viewing history that
// shows its entries is judged as a set, as LostWrites does: it is stale
// too when an append acknowledged before it was invoked is not among them,
// although a newer one is.
//
// Probes are followed per (key, region), in invoke order; a probe of one
// source of a region (its Cassandra, one zone's cache: history.Op.Source)
// is followed apart, as a place of its own, and a cache probe that found
// nothing is left out. A pair whose last
// probe was stale never converged in what was observed. For a pair that was
// stale and then fresh, the completion of its first fresh probe after its
// last stale one is when it was seen converged. The convergence time
// (figure convergence_seconds) runs from the heal to the latest such moment
// over all pairs, 0 when no probe after the heal was stale: the first
// moment after which every probe in every region returned the latest
// acknowledged versions, as far as the probes can tell. It is an upper
// bound; the latest invoke of a stale probe gives a lower bound
// (convergence_lower_seconds). first_probe_seconds tells how soon probing
// began.
//
// The verdict is valid when the upper bound is within MaxConvergence;
// invalid when the lower bound exceeds it (a probe invoked more than
// MaxConvergence after the heal was still stale), whether or not a later one
// was fresh; unknown when the bounds straddle it (probes too sparse to
// tell), when some pair's last probe was stale but less than MaxConvergence
// after the heal (probing stopped early), or when there is no heal event or
// no probe after it.
//
// Probes may run while users still write (probing from the heal, under the
// traffic): a write acknowledged less than Grace before a probe was invoked
// is not yet owed to it, as ordinary replication lag and cache invalidation
// may hide it for that long (the stale-read bound).
type Convergence struct {
	MaxConvergence time.Duration
	// Grace is how long after its acknowledgement a write is not yet owed
	// to a probe (0: owed at once).
	Grace time.Duration
	// Fault, when set, names the fault whose heal is measured.
	Fault string
}

// FigConvergence names the figure, in seconds, of how long after a heal
// every region agreed again; the convergence and split-isolation checkers
// report it.
const FigConvergence = "convergence_seconds"

// Name implements Checker.
func (c *Convergence) Name() string { return "convergence" }

func init() {
	Register(Entry{Description: "after the heal every region returns the latest acknowledged data within two minutes",
		New: func() Checker { return &Convergence{MaxConvergence: 2 * time.Minute} }})
}

// missingAppend returns the first of a key's n oldest acknowledged writes
// (appends to a viewing history) that a probe showing the key's entries
// (Op.Entries) did not show, and whether there is one; a probe without
// entries is judged by its version alone. An append older than every entry
// of a cut page cannot be seen, and is not missing (as in LostWrites).
func missingAppend(kw *history.KeyWrites, n int, p history.Operation) (int64, bool) {
	entries, cut := p.Entries()
	if len(entries) == 0 && !cut {
		return 0, false
	}
	oldest := int64(math.MinInt64)
	if cut && len(entries) > 0 {
		oldest = slices.Min(entries)
	}
	for i := range n {
		if v := kw.Version[i]; v >= oldest && !slices.Contains(entries, v) {
			return v, true
		}
	}
	return 0, false
}

func (c *Convergence) heal(h *history.History) (history.Event, bool) {
	for _, kind := range []history.EventKind{history.FaultHealed, history.FaultRecover} {
		evs := h.EventsOf(kind)
		for i := len(evs) - 1; i >= 0; i-- {
			if c.Fault == "" || evs[i].Name == c.Fault {
				return evs[i], true
			}
		}
	}
	return history.Event{}, false
}

// Check implements Checker.
func (c *Convergence) Check(x *history.Index) history.Result {
	r := history.Result{Checker: c.Name(), Valid: history.VerdictValid, Figures: map[string]float64{
		"max_convergence_seconds": c.MaxConvergence.Seconds(),
	}}
	heal, ok := c.heal(x.History)
	if !ok {
		r.Valid = history.VerdictUnknown
		r.Reason = "no heal (recovered or recover) event"
		if c.Fault != "" {
			r.Reason += " for fault " + c.Fault
		}
		return r
	}
	writes, _ := x.AckedWrites()
	var probes []history.Operation
	for _, o := range x.Operations {
		// A zone's cache that holds nothing of a key has nothing stale.
		if o.IsOK() && o.IsProbe() && !o.InvokeTime().Before(heal.Time) && (!o.IsCacheProbe() || o.CacheHit()) {
			probes = append(probes, o)
		}
	}
	r.Figures["probes_after_heal"] = float64(len(probes))
	if len(probes) == 0 {
		r.Valid = history.VerdictUnknown
		r.Reason = fmt.Sprintf("no probes after the heal of %s at %s", heal.Name, heal.Time.UTC().Format(time.RFC3339Nano))
		return r
	}
	slices.SortStableFunc(probes, func(a, b history.Operation) int { return a.InvokeTime().Compare(b.InvokeTime()) })
	// Per (key, region): whether its latest probe so far was stale, and when
	// a probe after its last stale one first completed fresh.
	type pairState struct {
		stale     bool
		everStale bool
		freshAt   time.Time
		staleLine string
		staleInv  time.Time
	}
	pairs := map[keyRegion]*pairState{}
	staleCount := 0
	var lowerAt time.Time // the latest invoke of a stale probe
	var lowerLine string
	for _, p := range probes {
		k := keyRegion{p.Key(), probeRegion(p)}
		st := pairs[k]
		if st == nil {
			st = &pairState{}
			pairs[k] = st
		}
		stale := false
		if kw := writes[k.key]; kw != nil {
			owedBy := p.InvokeTime().Add(-c.Grace).UnixNano()
			want, ok := kw.NewestBefore(owedBy)
			missing, absent := missingAppend(kw, kw.AckedBefore(owedBy), p)
			var why string
			switch {
			case ok && p.Version() < want:
				why = fmt.Sprintf("saw version %d < acknowledged %d", p.Version(), want)
			case absent:
				why = fmt.Sprintf("did not show acknowledged append %d", missing)
			}
			if why != "" {
				stale = true
				staleCount++
				st.staleLine = fmt.Sprintf("probe of key %s in region %s at %s %s",
					k.key, label(k.region), p.InvokeTime().UTC().Format(time.RFC3339Nano), why)
				st.staleInv = p.InvokeTime()
				if st.staleInv.After(lowerAt) || lowerLine == "" {
					lowerAt, lowerLine = st.staleInv, st.staleLine
				}
			}
		}
		switch {
		case stale:
			st.stale, st.everStale = true, true
		case st.stale || (!st.everStale && st.freshAt.IsZero()):
			st.stale = false
			st.freshAt = p.CompleteTime()
		}
	}
	r.Figures["stale_probes_after_heal"] = float64(staleCount)
	r.Figures["first_probe_seconds"] = max(probes[0].CompleteTime().Sub(heal.Time), 0).Seconds()
	// A stale probe saw stale data no earlier than it was invoked: a lower
	// bound on the convergence time.
	lower := time.Duration(0)
	if lowerLine != "" {
		lower = max(lowerAt.Sub(heal.Time), 0)
		r.Details = []string{"last stale: " + lowerLine}
	}
	r.Figures["convergence_lower_seconds"] = lower.Seconds()
	// Pairs whose last probe was stale never converged in what was observed;
	// pairs that were stale and then fresh give the upper bound.
	var notConv lines
	var upper time.Duration
	var keys []keyRegion
	for k := range pairs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].key != keys[j].key {
			return keys[i].key < keys[j].key
		}
		return keys[i].region < keys[j].region
	})
	for _, k := range keys {
		st := pairs[k]
		switch {
		case st.stale:
			notConv.add("%s", st.staleLine)
		case st.everStale:
			upper = max(upper, st.freshAt.Sub(heal.Time))
		}
	}
	if notConv.total > 0 {
		last := probes[len(probes)-1].CompleteTime().Sub(heal.Time)
		r.Figures["observed_seconds"] = last.Seconds()
		r.Details = notConv.details()
		if lower > c.MaxConvergence {
			r.Valid = history.VerdictInvalid
			r.Reason = fmt.Sprintf("not converged %v after the heal of %s (max %v): %d key/region pairs still stale: %s",
				lower, heal.Name, c.MaxConvergence, notConv.total, strings.Join(notConv.first(3), "; "))
		} else {
			r.Valid = history.VerdictUnknown
			r.Reason = fmt.Sprintf("not converged when probing stopped %v after the heal of %s (max %v): %s",
				last, heal.Name, c.MaxConvergence, strings.Join(notConv.first(3), "; "))
		}
		return r
	}
	r.Figures[FigConvergence] = upper.Seconds()
	switch {
	case upper <= c.MaxConvergence:
		r.Reason = fmt.Sprintf("converged %v after the heal of %s (max %v, %d probes, %d stale before)",
			upper, heal.Name, c.MaxConvergence, len(probes), staleCount)
	case lower > c.MaxConvergence:
		r.Valid = history.VerdictInvalid
		r.Reason = fmt.Sprintf("converged only %v after the heal of %s, more than %v (%d stale probes; last: %s)",
			upper, heal.Name, c.MaxConvergence, staleCount, lowerLine)
	default:
		r.Valid = history.VerdictUnknown
		r.Reason = fmt.Sprintf("converged between %v and %v after the heal of %s, max %v: probes too sparse to tell",
			lower, upper, heal.Name, c.MaxConvergence)
	}
	return r
}
