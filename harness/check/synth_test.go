package check

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// synthHistory generates a deterministic history of about records op
// records (each operation is an invoke and an ok/fail completion, so about
// records/2 operations) across two regions and the six scenario phases,
// shaped like a region evacuation that every registered checker, with its
// defaults, finds valid:
//
//   - members live in us-east or eu-west, one device session and one profile
//     and one history key each; 60% profile reads, 15% profile writes, 10%
//     history appends, 15% history reads; 80% of reads hit the cache;
//   - during inject/observe, eu-west users are served by us-east in
//     failover mode, latency rises by a third and 0.5% of requests are shed
//     fast;
//   - a watched partition's measurements: no marker crossed while the
//     regions were apart, and every one crossed 1.5 s after the heal;
//   - in observe, a defective release's canary is rolled back from us-east
//     and the good release then reaches every member service instance;
//   - writes are visible at once in their own region and 200ms later in the
//     other; reads return what is visible;
//   - after the heal every key is probed once in each region and returns its
//     newest version (a key never written: none).
func synthHistory(records int) *history.History {
	rng := rand.New(rand.NewPCG(42, 2026))
	regions := []string{"us-east", "eu-west"}
	members := max(records/100, 10)
	userOps := records / 2
	// Leave room for a probe of each key (two per member) in each region.
	probes := min(members*2*len(regions), userOps/5)
	userOps -= probes
	const step = time.Millisecond
	const lag = 200 * time.Millisecond
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	runLen := time.Duration(userOps) * step
	phaseNames := []string{"steady-state", "inject", "observe", "recover", "converge", "verify"}
	phaseAt := func(i int) time.Time { return t0.Add(runLen * time.Duration(i) / 5) }

	h := &history.History{}
	for i, p := range phaseNames[:5] {
		h.Events = append(h.Events, history.Event{Kind: history.PhaseStart, Time: phaseAt(i), Name: p})
	}
	injectAt, recoverAt := phaseAt(1), phaseAt(3)
	h.Events = append(h.Events,
		history.Event{Kind: history.FaultInject, Time: injectAt, Name: "evacuate", Target: "eu-west"},
		history.Event{Kind: history.TrafficShift, Time: injectAt.Add(time.Millisecond), Name: "weights", Detail: map[string]string{"eu-west": "0"}},
		history.Event{Kind: history.TrafficShift, Time: injectAt.Add(2 * time.Millisecond), Name: history.ShiftEvacuate, Target: "eu-west",
			Detail: map[string]string{"fraction": "1", history.CapacityDetail + "us-east": "0", history.CapacityDetail + "eu-west": "0"}},
		history.Event{Kind: history.FaultEffect, Time: injectAt.Add(5 * time.Millisecond), Name: "evacuate", Target: "eu-west"},
		history.Event{Kind: history.FaultRecover, Time: recoverAt, Name: "evacuate", Target: "eu-west"},
		history.Event{Kind: history.TrafficShift, Time: recoverAt.Add(time.Millisecond), Name: "weights", Detail: map[string]string{"eu-west": "1"}},
		history.Event{Kind: history.TrafficShift, Time: recoverAt.Add(2 * time.Millisecond), Name: history.ShiftRestore, Target: "eu-west"},
		history.Event{Kind: history.FaultHealed, Time: recoverAt.Add(5 * time.Millisecond), Name: "evacuate", Target: "eu-west"},
		history.Event{Kind: history.Note, Time: recoverAt, Name: history.EventIsolation,
			Detail: map[string]string{"crossed": "0", "written_us-east": "40", "written_eu-west": "40"}},
		history.Event{Kind: history.Note, Time: recoverAt.Add(1500 * time.Millisecond), Name: history.EventConverged,
			Detail: map[string]string{"after_heal_ms": "1500"}},
	)

	type write struct {
		ack     time.Time
		version int64
		region  string
	}
	written := map[string][]write{}
	// visible returns the newest version of key visible in region at a
	// time: versions grow with invoke order, so scan back from the newest
	// write; only the last few (not yet acknowledged or replicated) are
	// skipped.
	visible := func(key, region string, at time.Time) int64 {
		ws := written[key]
		for i := len(ws) - 1; i >= 0; i-- {
			if w := ws[i]; w.ack.Before(at) && (w.region == region || w.ack.Before(at.Add(-lag))) {
				return w.version
			}
		}
		return 0
	}

	readSince := map[string]bool{} // key + " " + region: read there since its last write
	seq := make([]uint64, members)
	ops := make([]history.Op, 0, records+16)
	for i := 0; i < userOps; i++ {
		t := t0.Add(time.Duration(i) * step)
		m := rng.IntN(members)
		home := regions[m%2]
		phase := phaseNames[min(int(t.Sub(t0)*5/runLen), 4)]
		evac := phase == "inject" || phase == "observe"
		region, entry := home, home
		failover := false
		if evac && home == "eu-west" {
			region, entry, failover = "us-east", "us-east", true
		}
		var name, key string
		switch x := rng.IntN(100); {
		case x < 60:
			name, key = history.OpReadProfile, fmt.Sprintf("profile/m%d", m)
		case x < 75:
			name, key = history.OpWriteProfile, fmt.Sprintf("profile/m%d", m)
		case x < 85:
			name, key = history.OpAppendHistory, fmt.Sprintf("history/m%d", m)
		default:
			name, key = history.OpReadHistory, fmt.Sprintf("history/m%d", m)
		}
		lat := time.Duration(4000+rng.IntN(8000)) * time.Microsecond
		if evac {
			lat = lat * 4 / 3
		}
		seq[m]++
		inv := history.Op{Type: history.Invoke, Time: t, Process: m, Seq: seq[m], Op: name, Member: fmt.Sprintf("m%d", m),
			Key: key, Session: fmt.Sprintf("s%d", m), Home: home, Entry: entry, Phase: phase}
		done := inv
		done.Type = history.OK
		done.Region, done.Zone, done.Instance = region, region+"a", region+"-gw-1"
		done.Failover = failover
		switch {
		case evac && rng.IntN(200) == 0:
			done.Type, done.Shed, done.Status, done.Error = history.Fail, true, 503, "shed"
			lat = time.Duration(300+rng.IntN(700)) * time.Microsecond
		case name == history.OpWriteProfile || name == history.OpAppendHistory:
			inv.Version = t.UnixNano()
			done.Version = inv.Version
			written[key] = append(written[key], write{ack: t.Add(lat), version: inv.Version, region: region})
			for _, r := range regions {
				readSince[key+" "+r] = r == region
			}
		default:
			done.Version = visible(key, region, t)
			done.CacheHit = rng.IntN(5) != 0
			// A write in the other region invalidated the key here: the
			// first read since misses the cache (CacheModes).
			if ws := written[key]; len(ws) > 0 && ws[len(ws)-1].region != region && !readSince[key+" "+region] {
				done.CacheHit = false
			}
			readSince[key+" "+region] = true
		}
		done.Time, done.Latency = t.Add(lat), lat
		ops = append(ops, inv, done)
	}

	keys := make([]string, 0, 2*members)
	for m := 0; m < members; m++ {
		keys = append(keys, fmt.Sprintf("profile/m%d", m), fmt.Sprintf("history/m%d", m))
	}
	pt := t0.Add(runLen).Add(time.Second)
	n := 0
	for _, k := range keys {
		for _, region := range regions {
			if n >= probes {
				break
			}
			n++
			pt = pt.Add(50 * time.Microsecond)
			// The region's Cassandra, then its gateway, as the read-back
			// probes them.
			for _, src := range []string{history.SourceStore, ""} {
				inv := history.Op{Type: history.Invoke, Time: pt, Process: 1_000_000 + n%64, Seq: uint64(2*n) + uint64(len(src)), Op: history.OpProbe, Key: k, Phase: "verify"}
				done := inv
				done.Type, done.Region, done.Version, done.Source = history.OK, region, visible(k, region, pt), src
				done.Time, done.Latency = pt.Add(2*time.Millisecond), 2*time.Millisecond
				ops = append(ops, inv, done)
				pt = pt.Add(3 * time.Millisecond)
			}
		}
	}
	rollouts := &hb{t0: phaseAt(2)}
	stages := map[string][]string{"us-east": {"us-east/member/a", "us-east/member/b"}, "eu-west": {"eu-west/member/a", "eu-west/member/b"}}
	ms := rolloutEvents(rollouts, 0, 1, "v2-errors", "v1", "fail", stages, regions, true)
	rolloutEvents(rollouts, ms, 1, "v2", "v1", "pass", stages, regions, false)
	h.Events = append(h.Events, rollouts.h.Events...)
	h.Events = append(h.Events, history.Event{Kind: history.PhaseStart, Time: t0.Add(runLen).Add(500 * time.Millisecond), Name: "verify"})
	// Records reach the file in time order, invokes and completions
	// interleaved as they happen.
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Time.Before(ops[j].Time) })
	h.Ops = ops
	return h
}

// allCheckers composes every registered checker with its defaults.
func allCheckers() Compose {
	var c Compose
	for _, e := range Registered() {
		c = append(c, e.New())
	}
	return c
}
