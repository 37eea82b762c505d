package check

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// SplitIsolation judges what a WatchedPartition measured: no marker written
// in one region during the cut was seen in the other before the heal (the
// regions really were apart, and each went on writing), and after the heal
// every marker crossed within MaxConvergence.
//
// "None crossed" counts only when it was measured: a region none of whose
// reads of the other's markers answered during the cut (figure
// reads_during_cut_<region>) makes the verdict unknown, since a read that
// fails sees nothing whether or not the markers crossed. A measurement
// without reads recorded (older histories) is judged on the markers alone.
type SplitIsolation struct {
	MaxConvergence time.Duration
}

// Name implements Checker.
func (s *SplitIsolation) Name() string { return "split-isolation" }

func init() {
	Register(Entry{Description: "no marker crossed a watched partition before its heal, and all crossed within two minutes after",
		New: func() Checker { return &SplitIsolation{MaxConvergence: 2 * time.Minute} }})
}

// Check implements Checker.
func (s *SplitIsolation) Check(x *history.Index) history.Result {
	r := history.Result{Checker: s.Name(), Valid: history.VerdictValid, Figures: map[string]float64{}}
	var iso, conv *history.Event
	for i := range x.History.Events {
		switch e := &x.History.Events[i]; e.Name {
		case history.EventIsolation:
			iso = e
		case history.EventConverged:
			conv = e
		}
	}
	if iso == nil {
		r.Valid, r.Reason = history.VerdictUnknown, "no isolation measurement in the history (the partition was not watched, or never healed)"
		return r
	}
	var bad, ok []string
	crossed, _ := strconv.Atoi(iso.Detail["crossed"])
	r.Figures["crossed_during_cut"] = float64(crossed)
	written := 0
	var unread []string
	for _, k := range slices.Sorted(maps.Keys(iso.Detail)) {
		n, _ := strconv.Atoi(iso.Detail[k])
		if region, found := strings.CutPrefix(k, "written_"); found {
			written += n
			r.Figures[figureName("written_during_cut", region)] = float64(n)
			if n == 0 {
				bad = append(bad, fmt.Sprintf("region %s wrote nothing during the cut", region))
			}
		}
		if region, found := strings.CutPrefix(k, "read_"); found {
			r.Figures[figureName("reads_during_cut", region)] = float64(n)
			if n == 0 {
				unread = append(unread, region)
			}
		}
	}
	switch {
	case crossed > 0:
		bad = append(bad, fmt.Sprintf("%d markers written during the cut were seen across it before the heal: the regions were not apart", crossed))
	case len(unread) > 0:
		r.Valid = history.VerdictUnknown
		r.Reason = fmt.Sprintf("no read of the other region's markers answered in region %s during the cut: isolation was not measured",
			strings.Join(unread, ", "))
		if len(bad) > 0 {
			r.Valid, r.Reason = history.VerdictInvalid, strings.Join(bad, "; ")+"; "+r.Reason
		}
		return r
	default:
		ok = append(ok, fmt.Sprintf("none of %d markers written during the cut crossed it", written))
	}
	switch {
	case conv == nil:
		r.Valid = history.VerdictUnknown
		r.Reason = strings.Join(append(bad, "no convergence measurement after the heal"), "; ")
		if len(bad) > 1 {
			r.Valid = history.VerdictInvalid
		}
		return r
	case conv.Detail["error"] != "":
		bad = append(bad, "after the heal: "+conv.Detail["error"])
	default:
		ms, _ := strconv.ParseInt(conv.Detail["after_heal_ms"], 10, 64)
		d := time.Duration(ms) * time.Millisecond
		r.Figures[FigConvergence] = d.Seconds()
		line := fmt.Sprintf("all crossed %s after the heal (max %s)", d, s.MaxConvergence)
		if s.MaxConvergence > 0 && d > s.MaxConvergence {
			bad = append(bad, line)
		} else {
			ok = append(ok, line)
		}
	}
	if len(bad) > 0 {
		r.Valid, r.Reason = history.VerdictInvalid, strings.Join(bad, "; ")
		return r
	}
	r.Reason = strings.Join(ok, "; ")
	return r
}
