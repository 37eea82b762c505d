package scenarios

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
)

// Variant is a broken world of a scenario: the scenario run with one of
// the protections it relies on switched off at run time (a setting of the
// application, a fault, a flag of the plan; never a change to a checker),
// and the checker that must then find the run invalid, for that reason.
// Judge says whether a broken run and the healthy run beside it show it.
type Variant struct {
	// Name is the broken world's name under its scenario, such as
	// "remote-writes" (the Go test's subtest: split-brain/remote-writes).
	Name string
	// Broken says in one line what is broken.
	Broken string
	// Checker is the checker that must find the broken run invalid, and
	// Reason a part of its reason that says why (a phase, a region, a
	// figure's name).
	Checker, Reason string
	// AlsoInvalid are other checkers the broken world may make invalid as
	// a consequence (an overloaded data tier fails requests too); every
	// checker not named here or in Checker must not be invalid.
	AlsoInvalid []string
	// Short marks broken worlds that `go test -short` runs; only a Short
	// scenario has them (the healthy run is what they are compared with).
	Short bool
	// Leaves says what the broken world leaves in the world after its run
	// that a later run could trip on (empty: nothing); the Go tests run
	// such a variant after every other run.
	Leaves string
	// Run runs the scenario in the broken world, as the Go tests do (see
	// Spec.Quick).
	Run RunFunc
}

// check refuses a variant that cannot be judged or run.
func (v Variant) check(s Spec) error {
	switch {
	case !wellNamed(v.Name):
		return fmt.Errorf("broken world name %q: use lower-case words joined by dashes", v.Name)
	case v.Broken == "":
		return fmt.Errorf("broken world %s does not say what is broken", v.Name)
	case v.Checker == "" || v.Reason == "":
		return fmt.Errorf("broken world %s names no checker and reason that must catch it", v.Name)
	case slices.Contains(v.AlsoInvalid, v.Checker):
		return fmt.Errorf("broken world %s: %s is its checker, not another", v.Name, v.Checker)
	case v.Run == nil:
		return fmt.Errorf("broken world %s has no Run", v.Name)
	case v.Short && !s.Short:
		return fmt.Errorf("broken world %s is Short but its scenario is not: -short would run it without the healthy run it is compared with", v.Name)
	}
	return nil
}

// Judge says how a run in the broken world fails to show what the variant
// claims, or nil when it shows it: the run failed; v.Checker found it
// invalid with v.Reason in its reason; no other checker but AlsoInvalid's
// found it invalid; and healthy, the run of the same scenario with the same
// seed in the whole world, has v.Checker valid. So a broken world cannot be
// caught for another reason than the one it is there to prove.
func (v Variant) Judge(healthy, broken *run.Outcome) error {
	var errs []error
	if broken.Status != history.StatusFailed {
		errs = append(errs, fmt.Errorf("the broken world's run %s, not failed: %s", broken.Status, broken.Reason))
	}
	found := false
	for _, r := range broken.Verdict.Children {
		switch {
		case r.Checker == v.Checker:
			found = true
			if r.Valid != history.VerdictInvalid {
				errs = append(errs, fmt.Errorf("%s is %s in the broken world, not invalid: %s", r.Checker, r.Valid, r.Reason))
			} else if !strings.Contains(r.Reason, v.Reason) {
				errs = append(errs, fmt.Errorf("%s is invalid in the broken world, but its reason does not contain %q: %s", r.Checker, v.Reason, r.Reason))
			}
		case r.Valid == history.VerdictInvalid && !slices.Contains(v.AlsoInvalid, r.Checker):
			errs = append(errs, fmt.Errorf("%s is invalid in the broken world too (only %s should be): %s", r.Checker, v.Checker, r.Reason))
		}
	}
	if !found {
		errs = append(errs, fmt.Errorf("the broken world's run has no %s checker", v.Checker))
	}
	if h, ok := result(healthy, v.Checker); !ok {
		errs = append(errs, fmt.Errorf("the healthy run has no %s checker", v.Checker))
	} else if h.Valid != history.VerdictValid {
		errs = append(errs, fmt.Errorf("%s is %s in the healthy run, so the broken world proves nothing: %s", h.Checker, h.Valid, h.Reason))
	}
	return errors.Join(errs...)
}

// result finds a checker's result in an outcome.
func result(out *run.Outcome, checker string) (history.Result, bool) {
	for _, r := range out.Verdict.Children {
		if r.Checker == checker {
			return r, true
		}
	}
	return history.Result{}, false
}
