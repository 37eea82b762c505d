package replcheck

import (
	"fmt"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/history"
)

func init() {
	check.Register(check.Entry{Description: "every record acknowledged in the writing region is seen in the other one before the deadline",
		New: func() check.Checker { return Complete{} }})
	check.Register(check.Entry{Description: "at least 99% of the records are visible in the other region 500 ms after their write (95% lower bound)",
		New: func() check.Checker { return VisibleAtRead{MinShare: 0.99} }})
}

// Checkers of a replication check. They judge the summary that the check
// recorded in the history (a note event named "replication-check"), so a
// run can be re-judged from its history without the world.

// Complete holds when every record acknowledged in the first
// region was seen in the other one before the deadline: nothing missing
// after convergence. It is unknown when the history holds no replication
// summary or no record was acknowledged.
type Complete struct{}

// Name implements Checker.
func (Complete) Name() string { return "replication-complete" }

// Check implements Checker.
func (c Complete) Check(x *history.Index) history.Result {
	s, r, ok := replicationResult(c.Name(), x.History)
	if !ok {
		return r
	}
	r.Figures["missing"] = float64(s.Missing)
	r.Figures["all_visible_after_ms"] = s.AllVisibleAfterMs
	if s.Missing > 0 {
		r.Valid = history.VerdictInvalid
		r.Reason = fmt.Sprintf("%d of %d records written in %s were never seen in %s (%.2f%%) within %.0f s after the writes ended",
			s.Missing, s.Samples, s.From, s.To, 100*float64(s.Missing)/float64(s.Samples), s.ConvergeSeconds)
		return r
	}
	r.Reason = fmt.Sprintf("all %d records written in %s were seen in %s, each within %.0f ms of its write",
		s.Samples, s.From, s.To, s.AllVisibleAfterMs)
	if s.WriteErrors > 0 || s.WriteTimeouts > 0 {
		r.Details = append(r.Details, fmt.Sprintf("%d records were not acknowledged and are not judged here (see %s): %d refused, %d timed out",
			s.WriteErrors+s.WriteTimeouts, WriteErrors{}.Name(), s.WriteErrors, s.WriteTimeouts))
	}
	return r
}

// VisibleAtRead holds when at least MinShare of the records
// acknowledged in the first region were visible in the other one at the
// read ReadAfter after each write (Netflix's 500 ms experiment).
//
// A read issued later than the check's tolerance (the reader fell behind,
// as it does on a machine whose cores are all busy) that found its record
// proves less: at ReadAfter the record may not have been visible yet. The
// share visible at ReadAfter exactly then lies between a lower bound and
// the share found (see history.Replication.VisibleAtReadLow: the sample's
// lags say how many records a late read found could have been invisible at
// ReadAfter, at 95 % confidence). The verdict is invalid when even the
// share found falls short of MinShare, valid when the lower bound reaches
// it, and unknown in between.
type VisibleAtRead struct {
	MinShare float64
}

// Name implements Checker.
func (VisibleAtRead) Name() string { return "replication-visible-at-read" }

// Check implements Checker.
func (c VisibleAtRead) Check(x *history.Index) history.Result {
	s, r, ok := replicationResult(c.Name(), x.History)
	if !ok {
		return r
	}
	r.Figures["visible_at_read"] = s.VisibleAtRead
	r.Figures["visible_at_read_low"] = s.VisibleAtReadLow
	r.Figures["visible_at_read_min"] = s.VisibleAtReadMin
	r.Figures["min_share"] = c.MinShare
	r.Figures["reads_late"] = float64(s.ReadsLate)
	switch {
	case s.VisibleAtRead < c.MinShare:
		r.Valid = history.VerdictInvalid
		r.Reason = fmt.Sprintf("%.3f%% of the records written in %s were visible in %s %.0f ms after their write, below the %.3f%% required (%d late)",
			100*s.VisibleAtRead, s.From, s.To, s.ReadAfterMs, 100*c.MinShare, s.Late)
	case s.VisibleAtReadLow < c.MinShare:
		r.Valid = history.VerdictUnknown
		r.Reason = fmt.Sprintf("%.3f%% of the records were visible at their read, but %d reads were issued more than %.0f ms late (read delay p99 %.0f ms): "+
			"at %.0f ms the share was between %.3f%% and %.3f%%, and %.3f%% is required",
			100*s.VisibleAtRead, s.ReadsLate, s.ReadToleranceMs, s.ReadDelayP99Ms, s.ReadAfterMs, 100*s.VisibleAtReadLow, 100*s.VisibleAtRead, 100*c.MinShare)
	default:
		r.Reason = fmt.Sprintf("at least %.3f%% of the records written in %s were visible in %s %.0f ms after their write (95 %% lower bound; %.3f%% found by reads on time, %.3f%% found at all; at least %.3f%% required)",
			100*s.VisibleAtReadLow, s.From, s.To, s.ReadAfterMs, 100*s.VisibleAtReadMin, 100*s.VisibleAtRead, 100*c.MinShare)
		if s.VisibleLateReads > 0 {
			r.Details = append(r.Details, fmt.Sprintf("%d records were found by reads issued more than %.0f ms late; of the %d sampled records a late read found, %d "+
				"were not seen before %.0f ms, so at %.0f ms exactly at least %.3f%% were visible (95 %% confidence)",
				s.VisibleLateReads, s.ReadToleranceMs, s.SampledLateRead, s.SampledLateSlow, s.ReadAfterMs, s.ReadAfterMs, 100*s.VisibleAtReadLow))
		}
	}
	return r
}

// replicationResult finds the summary a replication checker judges; ok is
// false when the result r is already the verdict (unknown).
func replicationResult(name string, h *history.History) (history.Replication, history.Result, bool) {
	r := history.Result{Checker: name, Valid: history.VerdictValid, Figures: map[string]float64{}}
	s, found, err := fromHistory(h)
	switch {
	case err != nil:
		r.Valid, r.Reason = history.VerdictUnknown, err.Error()
	case !found:
		r.Valid, r.Reason = history.VerdictUnknown, "the history holds no replication-check summary (the check did not finish)"
	case s.Samples == 0:
		r.Valid, r.Reason = history.VerdictUnknown, fmt.Sprintf("no record was acknowledged in %s (%d writes failed)", s.From, s.WriteErrors)
	default:
		r.Figures["records"] = float64(s.Samples)
		return s, r, true
	}
	return s, r, false
}
