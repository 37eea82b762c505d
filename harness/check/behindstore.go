package check

import (
	"fmt"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// BehindStore checks that a region's service never serves a key older than
// its own Cassandra already held: what a member service reads at its
// configured level (LOCAL_QUORUM) or caches cannot be older than what the
// region's Cassandra returned at LOCAL_QUORUM before the read began, once
// the cache's invalidation has had time to arrive.
//
// It judges the read-back's probes (run.ReadBack), which read every key in
// every region through the region's gateway (Op.Source "") and from the
// region's Cassandra ("store") in turn, and again until each shows the
// newest acknowledged write. A gateway probe of key k in region r invoked
// at t that returned version v is behind when a store probe of k in r
// completed before t returned a version s > v that was acknowledged more
// than Grace before t (a cache may miss a write of another region until its
// invalidation arrives). A world whose services read below quorum (a
// replica a zone outage left behind, before its hints arrive) is behind;
// a write that is late in the whole region (its hint held up) is not,
// since the store does not show it either.
//
// The verdict is invalid if any gateway probe is behind; unknown if no
// gateway probe followed a store probe of its key and region; else valid.
type BehindStore struct {
	// Grace is how long after its acknowledgement a write may still be
	// missing from a region's caches (0: none).
	Grace time.Duration
}

// Name implements Checker.
func (b *BehindStore) Name() string { return "behind-store" }

func init() {
	Register(Entry{Description: "no region's service returns older data than its own Cassandra held at LOCAL_QUORUM a second before",
		New: func() Checker { return &BehindStore{Grace: time.Second} }})
}

// Check implements Checker.
func (b *BehindStore) Check(x *history.Index) history.Result {
	writes, _ := x.AckedWrites()
	type seen struct {
		version int64
		at      time.Time
	}
	// The store probes of each key and region, in completion order; the
	// newest version seen by time t is the largest among those completed.
	stores := map[keyRegion][]seen{}
	var gateways []history.Operation
	for _, o := range x.Operations {
		if !o.IsOK() || !o.IsProbe() {
			continue
		}
		switch o.Source() {
		case history.SourceStore:
			k := keyRegion{o.Key(), servedIn(o)}
			stores[k] = append(stores[k], seen{o.Version(), o.CompleteTime()})
		case "":
			gateways = append(gateways, o)
		}
	}
	r := history.Result{Checker: b.Name(), Valid: history.VerdictValid, Figures: map[string]float64{}}
	var compared, behind int
	var worst time.Duration
	var offenders lines
	for _, g := range gateways {
		k := keyRegion{g.Key(), servedIn(g)}
		t := g.InvokeTime()
		var s int64
		found := false
		for _, st := range stores[k] {
			if st.at.Before(t) {
				s, found = max(s, st.version), true
			}
		}
		if !found {
			continue
		}
		compared++
		v := g.Version()
		if s <= v {
			continue
		}
		kw := writes[k.key]
		ack, ok := ackOf(kw, s)
		if !ok || t.Sub(ack) <= b.Grace {
			continue
		}
		behind++
		worst = max(worst, t.Sub(ack))
		offenders.add("key %s in region %s at %s: served version %d, while the region's Cassandra showed %d (acknowledged %v before)",
			k.key, label(k.region), t.UTC().Format(time.RFC3339Nano), v, s, t.Sub(ack).Round(time.Millisecond))
	}
	r.Figures["probes_compared"] = float64(compared)
	r.Figures["probes_behind"] = float64(behind)
	r.Figures["worst_behind_seconds"] = worst.Seconds()
	switch {
	case behind > 0:
		r.Valid = history.VerdictInvalid
		r.Reason = fmt.Sprintf("%d of %d probes through a gateway served older data than their region's Cassandra held (max %v after the write): %s",
			behind, compared, worst.Round(time.Millisecond), strings.Join(offenders.first(3), "; "))
		r.Details = offenders.details()
	case compared == 0:
		r.Valid = history.VerdictUnknown
		r.Reason = "no probe through a gateway followed a probe of its region's Cassandra"
	default:
		r.Reason = fmt.Sprintf("none of %d probes through a gateway served older data than their region's Cassandra held", compared)
	}
	return r
}

// ackOf is when the write of version v was acknowledged, if it was.
func ackOf(kw *history.KeyWrites, v int64) (time.Time, bool) {
	if kw == nil {
		return time.Time{}, false
	}
	for i, w := range kw.Version {
		if w == v {
			return time.Unix(0, kw.Ack[i]), true
		}
	}
	return time.Time{}, false
}
