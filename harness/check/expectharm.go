package check

import (
	"fmt"

	"github.com/kongchaos/kong/harness/history"
)

// ExpectHarm inverts a checker's expectation: it is valid only when the
// inner checker finds the history invalid. Pair it with a fault that must do
// damage (or with the no-op fault and an expectation of harm, which must
// then FAIL): a run where the inner checker stays valid proves that either
// the fault did nothing or the checker cannot fail.
//
// inner invalid -> valid; inner valid -> invalid; inner unknown -> unknown.
// The inner result is kept as the only child.
type ExpectHarm struct {
	Inner Checker
}

// NewExpectHarm wraps a checker so that it must find harm.
func NewExpectHarm(inner Checker) *ExpectHarm { return &ExpectHarm{Inner: inner} }

// Name implements Checker: "expect-harm(<inner>)".
func (e *ExpectHarm) Name() string {
	if e.Inner == nil {
		return "expect-harm()"
	}
	return "expect-harm(" + e.Inner.Name() + ")"
}

// Check implements Checker.
func (e *ExpectHarm) Check(x *history.Index) history.Result {
	r := history.Result{Checker: e.Name()}
	if e.Inner == nil {
		r.Valid = history.VerdictUnknown
		r.Reason = "no inner checker"
		return r
	}
	in := safeCheck(e.Inner, x)
	r.Children = []history.Result{in}
	r.Figures = in.Figures
	switch in.Valid {
	case history.VerdictInvalid:
		r.Valid = history.VerdictValid
		r.Reason = fmt.Sprintf("harm expected and found by %s: %s", in.Checker, in.Reason)
	case history.VerdictValid:
		r.Valid = history.VerdictInvalid
		r.Reason = fmt.Sprintf("harm expected but %s found none (the fault did nothing, or the checker cannot fail): %s", in.Checker, in.Reason)
	default:
		r.Valid = history.VerdictUnknown
		r.Reason = fmt.Sprintf("harm expected but %s could not tell: %s", in.Checker, in.Reason)
	}
	return r
}
