package check

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// LostWrites checks that no acknowledged write is lost: every write
// (write-profile, append-history) that completed ok with a key must be seen,
// in every region that was probed, by the probe (OpProbe completed ok) of
// that key in that region, with a version at least the one acknowledged.
//
// For each (key, region) the last probe (by invoke time) is the one that
// counts: earlier probes may run before convergence, and the last one is the
// final state (in a run, the read-back after the repair of the Cassandra
// nodes it killed: run.Experiment). A write acknowledged at or after that
// probe was invoked could not be seen by it, so it is unknown in that
// region, like a key never probed there. A probe's region is the region that served it (else its entry or
// home).
//
// Appends to a viewing history are checked as a set (Jepsen's set-full)
// when the probe recorded the entries it showed (Op.Entries): each
// acknowledged append is present (shown by the first probe of its key in
// that region after it was acknowledged), late (shown only by a later
// probe: it became visible by that probe's completion, and the figures say
// how long after its acknowledgement) or absent from the last probe, which
// makes it lost. An append older than every entry of a cut page (the
// service shows only its newest entries) cannot be seen and is counted
// apart, not judged. A probe without entries is judged by its version
// alone: the newest acknowledged append there or superseded.
//
// A write whose outcome is unknown (completed info: it timed out, lost its
// connection or was abandoned at stop) is neither acknowledged nor lost: it
// may or may not have been applied, and it carries no version to look for.
// It is not judged, but counted (figure unknown_outcome_writes) and named in
// the details, so that it does not drop out unseen. When it was applied,
// its version supersedes the acknowledged ones, so a probe showing it still
// covers them.
//
// The verdict is invalid if any write is lost in any region; else unknown if
// any write was not probed in some region, there are no probes or no
// acknowledged writes; else valid.
type LostWrites struct {
	// Regions, when set, must each be probed: a region listed here that no
	// probe reached makes every write unknown there.
	Regions []string
}

// Name implements Checker.
func (l *LostWrites) Name() string { return "lost-writes" }

func init() {
	Register(Entry{Description: "every acknowledged write is seen by the last probe of its key in every region",
		New: func() Checker { return &LostWrites{} }})
}

type keyRegion struct{ key, region string }

// A probe that read one source of its region (history.Op.Source) counts
// as a place of its own, named after both, such as "us-east-1 store":
// the region's Cassandra read at LOCAL_QUORUM must hold every acknowledged
// write as its gateway does, so a loss that a cache still hides is found.
// A probe of one zone's cache judges only what that cache holds: a value
// older than a write acknowledged before the probe is a stale copy (a user
// served by that zone reads it), and a miss or a tombstone holds nothing
// to judge.
func probeRegion(o history.Operation) string {
	r := servedIn(o)
	if src := o.Source(); src != "" {
		return r + " " + src
	}
	return r
}

// servedIn is the region that served an operation, else its user's.
func servedIn(o history.Operation) string {
	if r := o.Region(); r != "" {
		return r
	}
	return o.UserRegion()
}

// Check implements Checker.
func (l *LostWrites) Check(x *history.Index) history.Result {
	writes, nacked := x.AckedWrites()
	last := map[keyRegion]history.Operation{}
	regionSet := map[string]bool{}
	for _, r := range l.Regions {
		regionSet[r] = true
	}
	shown := map[keyRegion][]history.Operation{}    // probes that recorded their entries
	lastCached := map[keyRegion]history.Operation{} // cache probes that found a value
	probes, unknownOutcome := 0, 0
	for _, o := range x.Operations {
		if o.IsWrite() && o.Type() == history.Info && o.Key() != "" {
			unknownOutcome++
		}
		if !o.IsOK() || !o.IsProbe() {
			continue
		}
		if o.IsCacheProbe() {
			if o.CacheHit() {
				k := keyRegion{o.Key(), probeRegion(o)}
				if p, ok := lastCached[k]; !ok || !o.InvokeTime().Before(p.InvokeTime()) {
					lastCached[k] = o
				}
			}
			continue
		}
		probes++
		k := keyRegion{o.Key(), probeRegion(o)}
		regionSet[k.region] = true
		if p, ok := last[k]; !ok || !o.InvokeTime().Before(p.InvokeTime()) {
			last[k] = o
		}
		if e, cut := o.Entries(); len(e) > 0 || cut {
			shown[k] = append(shown[k], o)
		}
	}
	regions := make([]string, 0, len(regionSet))
	for r := range regionSet {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	keys := make([]string, 0, len(writes))
	for k := range writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	r := history.Result{Checker: l.Name(), Valid: history.VerdictValid, Figures: map[string]float64{
		"acknowledged_writes":    float64(nacked),
		"keys":                   float64(len(keys)),
		"probes":                 float64(probes),
		"unknown_outcome_writes": float64(unknownOutcome),
	}}
	var unknownLine []string
	if unknownOutcome > 0 {
		unknownLine = []string{fmt.Sprintf("%d writes of unknown outcome (timed out, connection lost or abandoned) are not judged: they may or may not have been applied", unknownOutcome)}
	}
	if nacked == 0 {
		r.Valid = history.VerdictUnknown
		r.Reason = "no acknowledged writes to check"
		return r
	}
	if probes == 0 {
		r.Valid = history.VerdictUnknown
		r.Reason = "no probes: nothing read back"
		return r
	}

	lost := map[string]int{}            // per place: a write lost in two places counts in each
	lostWrites := map[keyVersion]bool{} // the writes lost somewhere, each once
	unprobed := map[string]int{}
	var lostLines, unprobedLines lines
	var set appendSet
	for _, key := range keys {
		kw := writes[key]
		for _, region := range regions {
			p, ok := last[keyRegion{key, region}]
			if !ok {
				unprobed[region] += kw.Len()
				unprobedLines.add("key %s never probed in region %s (%d acknowledged writes)", key, label(region), kw.Len())
				continue
			}
			n := kw.AckedBefore(p.InvokeTime().UnixNano())
			if late := kw.Len() - n; late > 0 {
				unprobed[region] += late
				unprobedLines.add("key %s in region %s: %d writes acknowledged after its last probe", key, label(region), late)
			}
			if e, cut := p.Entries(); len(e) > 0 || cut {
				k := keyRegion{key, region}
				for _, v := range set.check(kw, n, k, p, shown[k], &lostLines) {
					lostWrites[keyVersion{key, v}] = true
					lost[region]++
				}
				continue
			}
			if n == 0 || kw.Max[n-1] <= p.Version() {
				continue
			}
			cnt := 0
			for i := 0; i < n; i++ {
				if kw.Version[i] > p.Version() {
					lostWrites[keyVersion{key, kw.Version[i]}] = true
					cnt++
				}
			}
			lost[region] += cnt
			lostLines.add("key %s in region %s: probe saw version %d < acknowledged %d (%d writes lost)",
				key, label(region), p.Version(), kw.Max[n-1], cnt)
		}
	}
	totalLost := 0
	for _, region := range regions {
		r.Figures[figureName("lost", region)] = float64(lost[region])
		totalLost += lost[region]
		if unprobed[region] > 0 {
			r.Figures[figureName("unprobed", region)] = float64(unprobed[region])
		}
	}
	r.Figures["lost"] = float64(len(lostWrites))
	r.Figures["lost_in_places"] = float64(totalLost)
	set.figures(r.Figures)
	staleCopies, staleLines := staleCached(writes, lastCached)
	r.Figures["stale_cached_copies"] = float64(staleCopies)
	switch {
	case staleCopies > 0 && totalLost == 0:
		r.Valid = history.VerdictInvalid
		r.Reason = fmt.Sprintf("%d stale cached copies: a zone's cache still serves a value older than an acknowledged write: %s",
			staleCopies, strings.Join(staleLines.first(3), "; "))
		r.Details = append(staleLines.details(), unknownLine...)
	case totalLost > 0:
		r.Valid = history.VerdictInvalid
		var per []string
		for _, region := range regions {
			if lost[region] > 0 {
				per = append(per, fmt.Sprintf("%d in region %s", lost[region], label(region)))
			}
		}
		r.Reason = fmt.Sprintf("%d of %d acknowledged writes lost (missing %s): %s", len(lostWrites), nacked,
			strings.Join(per, ", "), strings.Join(lostLines.first(3), "; "))
		if staleCopies > 0 {
			r.Reason += fmt.Sprintf("; and %d stale cached copies", staleCopies)
			lostLines.keep = append(lostLines.keep, staleLines.first(3)...)
		}
		r.Details = append(append(lostLines.details(), unprobedLines.first(5)...), unknownLine...)
	case unprobedLines.total > 0:
		r.Valid = history.VerdictUnknown
		r.Reason = fmt.Sprintf("none lost, but not every write was probed everywhere: %s", strings.Join(unprobedLines.first(3), "; "))
		r.Details = append(unprobedLines.details(), unknownLine...)
	default:
		r.Reason = fmt.Sprintf("all %d acknowledged writes (%d keys) seen in all %d probed regions (%s)",
			nacked, len(keys), len(regions), strings.Join(regions, ", "))
		if len(lastCached) > 0 {
			r.Reason += fmt.Sprintf("; none of the %d cached copies found stale", len(lastCached))
		}
		if unknownOutcome > 0 {
			r.Reason += fmt.Sprintf("; %d writes of unknown outcome not judged", unknownOutcome)
		}
		r.Details = unknownLine
	}
	if set.late > 0 {
		r.Details = append(r.Details, fmt.Sprintf("%d acknowledged appends were shown only by a later probe than the first (late), at most %.1f s after their acknowledgement",
			set.late, set.lateMax.Seconds()))
	}
	if set.beyondPage > 0 {
		r.Details = append(r.Details, fmt.Sprintf("%d acknowledged appends are older than every entry of a full page and could not be looked for", set.beyondPage))
	}
	return r
}

// appendSet counts the acknowledged appends checked as a set.
type appendSet struct {
	checked, present, late, absent, beyondPage int
	lateMax                                    time.Duration
}

// keyVersion names one acknowledged write: its key and version.
type keyVersion struct {
	key     string
	version int64
}

// check judges the first n acknowledged appends of a key (kw) in one
// region against the probes that showed its entries there (shown), the
// last one last; it returns the versions of those absent (lost).
func (s *appendSet) check(kw *history.KeyWrites, n int, k keyRegion, last history.Operation, shown []history.Operation, lost *lines) []int64 {
	sort.SliceStable(shown, func(i, j int) bool { return shown[i].InvokeTime().Before(shown[j].InvokeTime()) })
	entries, cut := last.Entries()
	oldest := int64(math.MinInt64)
	if cut && len(entries) > 0 {
		oldest = slices.Min(entries)
	}
	var absent []int64
	for i := range n {
		v, ack := kw.Version[i], time.Unix(0, kw.Ack[i])
		if v < oldest {
			s.beyondPage++
			continue
		}
		s.checked++
		if !slices.Contains(entries, v) {
			absent = append(absent, v)
			lost.add("key %s in region %s: acknowledged append %d is absent from the last probe (%d entries shown)", k.key, label(k.region), v, len(entries))
			continue
		}
		first := true
		for _, p := range shown {
			if p.InvokeTime().Before(ack) {
				continue
			}
			if e, _ := p.Entries(); slices.Contains(e, v) {
				if first {
					s.present++
				} else {
					s.late++
					s.lateMax = max(s.lateMax, p.CompleteTime().Sub(ack))
				}
				break
			}
			first = false
		}
	}
	s.absent += len(absent)
	return absent
}

// figures adds the set's counts to a result's figures, when appends were
// checked as a set.
func (s *appendSet) figures(f map[string]float64) {
	if s.checked == 0 && s.beyondPage == 0 {
		return
	}
	f["appends_present"] = float64(s.present)
	f["appends_late"] = float64(s.late)
	f["appends_absent"] = float64(s.absent)
	f["appends_beyond_page"] = float64(s.beyondPage)
	f["appends_late_max_seconds"] = s.lateMax.Seconds()
}

// staleCached counts the keys whose last cache probe in a place found a
// value older than the newest write acknowledged before that probe.
func staleCached(writes map[string]*history.KeyWrites, last map[keyRegion]history.Operation) (int, lines) {
	var out lines
	keys := slices.SortedFunc(maps.Keys(last), func(a, b keyRegion) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.region, b.region))
	})
	n := 0
	for _, k := range keys {
		p, kw := last[k], writes[k.key]
		if kw == nil {
			continue
		}
		acked := kw.AckedBefore(p.InvokeTime().UnixNano())
		if acked == 0 || kw.Max[acked-1] <= p.Version() {
			continue
		}
		n++
		out.add("key %s in %s: cached version %d < acknowledged %d", k.key, k.region, p.Version(), kw.Max[acked-1])
	}
	return n, out
}
