package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/kongchaos/kong/harness/history"
)

// This file matches a replication check's lag tail to the nodes' own
// evidence (history.NodeEvidence): what the nodes said around the seconds
// whose writes were late, beside what they said the rest of the time.

// evidenceSpan is what the nodes said over some seconds of a replication
// check.
type evidenceSpan struct {
	Seconds int
	// Late records were written in these seconds; MaxLagMs is the longest
	// lag measured among the records written in them.
	Late     int
	MaxLagMs float64
	// The highest any node reported.
	MutationPending, HintFiles, Compactions int64
	// Messages dropped by every node together; GC pauses logged, and the
	// longest.
	Dropped     int64
	GCPauses    int
	GCLongestMs float64
}

// evidenceSlack is how long before a late write the evidence is read as
// its cause: about one sampling interval.
const evidenceSlack = 2

// tailSeconds marks the seconds around the late writes: from evidenceSlack
// before each second with late records until its longest lag had passed
// (at least a second). It returns nil when no record was late.
func tailSeconds(tl []history.LagSecond) map[int]bool {
	tail := map[int]bool{}
	for _, s := range tl {
		if s.Late == 0 {
			continue
		}
		until := s.Second + max(1, int(math.Ceil(s.MaxLagMs/1000)))
		for sec := s.Second - evidenceSlack; sec <= until; sec++ {
			tail[sec] = true
		}
	}
	if len(tail) == 0 {
		return nil
	}
	return tail
}

// droppedDeltas are the messages each sample's node dropped since its
// previous sample (a count that fell, from a node that restarted, counts
// from zero); a node's first sample adds nothing.
func droppedDeltas(samples []history.NodeSample) []int64 {
	out := make([]int64, len(samples))
	last := map[string]int64{}
	for i, s := range samples {
		prev, seen := last[s.Node]
		switch {
		case !seen:
		case s.Dropped >= prev:
			out[i] = s.Dropped - prev
		default:
			out[i] = s.Dropped
		}
		last[s.Node] = s.Dropped
	}
	return out
}

// tailEvidence sums the evidence of the seconds around the late writes
// (tail) and of the other seconds the nodes were sampled in (rest). ok is
// false when the run has no timeline or no evidence.
func tailEvidence(rl *history.Replication) (tail, rest evidenceSpan, ok bool) {
	if rl == nil || rl.Evidence == nil || len(rl.Timeline) == 0 {
		return tail, rest, false
	}
	marked := tailSeconds(rl.Timeline)
	span := func(sec int) *evidenceSpan {
		if marked[sec] {
			return &tail
		}
		return &rest
	}
	seconds := map[int]bool{}
	for _, s := range rl.Timeline {
		sp := span(s.Second)
		sp.Late += s.Late
		sp.MaxLagMs = max(sp.MaxLagMs, s.MaxLagMs)
		seconds[s.Second] = true
	}
	ev := rl.Evidence
	samples := slices.Clone(ev.Samples)
	slices.SortStableFunc(samples, func(a, b history.NodeSample) int { return cmpFloat(a.At, b.At) })
	dropped := droppedDeltas(samples)
	for i, s := range samples {
		sec := int(math.Floor(s.At))
		seconds[sec] = true
		sp := span(sec)
		sp.MutationPending = max(sp.MutationPending, s.MutationPending)
		sp.HintFiles = max(sp.HintFiles, s.HintFiles)
		sp.Compactions = max(sp.Compactions, s.Compactions)
		sp.Dropped += dropped[i]
	}
	for _, g := range ev.GC {
		sp := span(int(math.Floor(g.At)))
		sp.GCPauses++
		sp.GCLongestMs = max(sp.GCLongestMs, g.Ms)
	}
	for sec := range seconds {
		span(sec).Seconds++
	}
	return tail, rest, true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// evidenceTable sets what the nodes said around the late writes beside the
// rest of the run (one row for the whole run when no record was late).
func evidenceTable(r *Report) table {
	tail, rest, ok := tailEvidence(r.Replication)
	if !ok {
		return table{}
	}
	row := func(name string, s evidenceSpan) []string {
		gc := fmt.Sprint(s.GCPauses)
		if s.GCPauses > 0 {
			gc += fmt.Sprintf(" (longest %s ms)", num(s.GCLongestMs))
		}
		return []string{name, fmt.Sprint(s.Seconds), fmt.Sprint(s.Late), num(s.MaxLagMs), fmt.Sprint(s.MutationPending),
			fmt.Sprint(s.HintFiles), fmt.Sprint(s.Dropped), gc, fmt.Sprint(s.Compactions)}
	}
	t := table{Head: []string{"Seconds of the run", "Seconds", "Records late", "Longest lag ms", "MutationStage pending (highest node)",
		"Hint files (highest node)", "Messages dropped (all nodes)", "GC pauses logged", "Compactions running (highest node)"}}
	if tail.Seconds == 0 {
		t.Rows = append(t.Rows, row("whole run (no record was late)", rest))
		return t
	}
	t.Rows = append(t.Rows, row("around the late writes", tail), row("the other seconds", rest))
	return t
}

// evidenceNote says how to read the evidence table.
func evidenceNote(rl *history.Replication) string {
	note := fmt.Sprintf("Around the late writes: from %d s before each second whose writes were not visible at the read until its longest lag had passed. "+
		"The nodes were asked every %s ms; source: %s.", evidenceSlack, num(rl.Evidence.IntervalMs), rl.Evidence.Source)
	ev := rl.Evidence
	switch {
	case ev.SettleSeconds == 0:
	case ev.Settled:
		note += fmt.Sprintf(" After the re-reads the check waited %.0f s until no node had hint files, pending mutations or compactions.", ev.SettleSeconds)
	default:
		note += fmt.Sprintf(" After the re-reads the check waited %.0f s for the nodes to be quiet, and they were not: %s.", ev.SettleSeconds, strings.Join(ev.Busy, "; "))
	}
	return note
}

// evidenceTicks gathers the samples by sampling round (the nodes of one
// round are asked side by side): the highest MutationStage backlog, hint
// files and compactions of any node, and the messages every node dropped
// since its previous sample.
func evidenceTicks(ev *history.NodeEvidence) (at []float64, pending, hints, compactions, dropped []float64) {
	interval := max(ev.IntervalMs/1000, 0.001)
	samples := slices.Clone(ev.Samples)
	slices.SortStableFunc(samples, func(a, b history.NodeSample) int { return cmpFloat(a.At, b.At) })
	deltas := droppedDeltas(samples)
	index := map[int]int{}
	for i, s := range samples {
		tick := int(math.Round(s.At / interval))
		k, ok := index[tick]
		if !ok {
			k = len(at)
			index[tick] = k
			at = append(at, float64(tick)*interval)
			pending, hints, compactions, dropped = append(pending, 0), append(hints, 0), append(compactions, 0), append(dropped, 0)
		}
		pending[k] = max(pending[k], float64(s.MutationPending))
		hints[k] = max(hints[k], float64(s.HintFiles))
		compactions[k] = max(compactions[k], float64(s.Compactions))
		dropped[k] += float64(deltas[i])
	}
	return at, pending, hints, compactions, dropped
}
