package replcheck

import (
	"fmt"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/history"
)

// WriteErrorBudget is the share of records whose write may go
// unacknowledged in a replication check (0.1 %).
const WriteErrorBudget = 0.001

func init() {
	check.Register(check.Entry{Description: "at most 0.1% of the replication check's writes go unacknowledged (refused or timed out)",
		New: func() check.Checker { return WriteErrors{Budget: WriteErrorBudget} }})
}

// WriteErrors holds when at most Budget of a replication check's records
// were written without an acknowledgement: refused at every attempt
// (history.Replication.WriteErrors) or timed out (WriteTimeouts, outcome
// unknown). Complete and VisibleAtRead judge the acknowledged records
// only, so without this checker a run where most writes failed would pass
// on the few that crossed. It is unknown when the history holds no
// replication summary.
type WriteErrors struct {
	// Budget is the largest acceptable share of unacknowledged records,
	// 0..1 (0: none may be).
	Budget float64
}

// Name implements Checker.
func (WriteErrors) Name() string { return "replication-write-errors" }

// Check implements Checker.
func (c WriteErrors) Check(x *history.Index) history.Result {
	r := history.Result{Checker: c.Name(), Valid: history.VerdictValid, Figures: map[string]float64{}}
	s, found, err := fromHistory(x.History)
	switch {
	case err != nil:
		r.Valid, r.Reason = history.VerdictUnknown, err.Error()
		return r
	case !found:
		r.Valid, r.Reason = history.VerdictUnknown, "the history holds no replication-check summary (the check did not finish)"
		return r
	case s.Records == 0:
		r.Valid, r.Reason = history.VerdictUnknown, "the replication check wrote no records"
		return r
	}
	failed := s.WriteErrors + s.WriteTimeouts
	share := float64(failed) / float64(s.Records)
	r.Figures["records"] = float64(s.Records)
	r.Figures["write_errors"] = float64(s.WriteErrors)
	r.Figures["write_timeouts"] = float64(s.WriteTimeouts)
	r.Figures["write_timeouts_seen"] = float64(s.WriteTimeoutsSeen)
	r.Figures["unacknowledged_share"] = share
	r.Figures["budget"] = c.Budget
	what := fmt.Sprintf("%d of %d records written in %s were not acknowledged (%.3f%%): %d refused, %d timed out (outcome unknown; %d of them seen in %s, so applied)",
		failed, s.Records, s.From, 100*share, s.WriteErrors, s.WriteTimeouts, s.WriteTimeoutsSeen, s.To)
	if share > c.Budget {
		r.Valid = history.VerdictInvalid
		r.Reason = fmt.Sprintf("%s, over the budget of %.3f%%", what, 100*c.Budget)
	} else {
		r.Reason = fmt.Sprintf("%s, within the budget of %.3f%%", what, 100*c.Budget)
	}
	if rest := s.Records - s.Samples - failed; rest > 0 {
		r.Details = append(r.Details, fmt.Sprintf("%d records were never written (the check stopped early)", rest))
	}
	return r
}
