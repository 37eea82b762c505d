package check

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// StaleReads checks that reads do not return stale data for longer than a
// bound.
//
// A user read (read-profile, read-history completed ok) of a key, invoked at
// t and returning version v, is stale when some write of that key was
// acknowledged (completed ok) before t with a version newer than v. Its
// staleness is how long before t the earliest such write was acknowledged:
// how long the reader has been kept from a value it could have seen. A
// staleness up to Bound is tolerated (replication lag and cache
// invalidation across regions); beyond it is a violation. Reads and writes
// are matched by key only, whatever region served them. For history reads
// the version is the newest entry returned, as for appends.
//
// The verdict is invalid if any read is stale beyond Bound; unknown if no
// read came after an acknowledged write of its key (nothing could be stale);
// else valid.
type StaleReads struct {
	// Bound is how long after an acknowledgment a read may still miss it.
	Bound time.Duration
}

// Name implements Checker.
func (s *StaleReads) Name() string { return "stale-reads" }

func init() {
	Register(Entry{Description: "no read misses a write acknowledged more than 500 ms before it",
		New: func() Checker { return &StaleReads{Bound: 500 * time.Millisecond} }})
}

// Check implements Checker.
func (s *StaleReads) Check(x *history.Index) history.Result {
	writes, _ := x.AckedWrites()
	var reads, checkable, stale, beyond int
	var worst time.Duration
	var worstLine string
	beyondBy := map[string]int{}
	var offenders lines
	for _, o := range x.Operations {
		if !o.IsOK() || !o.IsUserRead() {
			continue
		}
		reads++
		kw := writes[o.Key()]
		if kw == nil {
			continue
		}
		t := o.InvokeTime().UnixNano()
		n := kw.AckedBefore(t)
		if n == 0 {
			continue
		}
		checkable++
		v := o.Version()
		if kw.Max[n-1] <= v {
			continue
		}
		stale++
		i := kw.FirstAbove(v, n)
		st := time.Duration(t - kw.Ack[i])
		describe := func() string {
			return fmt.Sprintf("key %s read in region %s (session %s) returned version %d, newest acknowledged %d; stale for %v",
				o.Key(), label(o.Region()), label(o.Session()), v, kw.Max[n-1], st)
		}
		if st > worst {
			worst, worstLine = st, describe()
		}
		if st > s.Bound {
			beyond++
			beyondBy[o.Region()]++
			if len(offenders.keep) < maxDetails {
				offenders.add("%s", describe())
			} else {
				offenders.total++
			}
		}
	}
	r := history.Result{Checker: s.Name(), Valid: history.VerdictValid, Figures: map[string]float64{
		"reads":              float64(reads),
		"checked_reads":      float64(checkable),
		"stale_reads":        float64(stale),
		"stale_beyond_bound": float64(beyond),
		"worst_staleness_ms": ms(worst),
		"bound_ms":           ms(s.Bound),
		"stale_within_bound": float64(stale - beyond),
	}}
	regions := make([]string, 0, len(beyondBy))
	for reg := range beyondBy {
		regions = append(regions, reg)
		r.Figures[figureName("stale_beyond_bound", reg)] = float64(beyondBy[reg])
	}
	sort.Strings(regions)
	switch {
	case beyond > 0:
		var per []string
		for _, reg := range regions {
			per = append(per, fmt.Sprintf("%d in region %s", beyondBy[reg], label(reg)))
		}
		r.Valid = history.VerdictInvalid
		r.Reason = fmt.Sprintf("%d reads stale beyond %v (%s); worst: %s", beyond, s.Bound, strings.Join(per, ", "), worstLine)
		r.Details = offenders.details()
	case checkable == 0:
		r.Valid = history.VerdictUnknown
		r.Reason = fmt.Sprintf("no read followed an acknowledged write of its key (%d reads)", reads)
	default:
		r.Reason = fmt.Sprintf("%d of %d checked reads stale, all within %v (worst %v)", stale, checkable, s.Bound, worst)
		if worstLine != "" {
			r.Details = []string{"worst: " + worstLine}
		}
	}
	return r
}
