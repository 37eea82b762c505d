package scenarios

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

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

// Caught is what a broken world's run showed beside the healthy run of its
// scenario, as the Go tests recorded it (RecordCaught): the README's table
// of broken worlds is generated from these records, and a record that does
// not show what its variant claims (Variant.Shows) fails that table's test.
type Caught struct {
	Scenario string `json:"scenario"`
	Variant  string `json:"variant"`
	Checker  string `json:"checker"`
	// Healthy is Checker's verdict in the healthy run, Verdict and Reason
	// its verdict and reason in the broken run.
	Healthy history.Verdict `json:"healthy"`
	Verdict history.Verdict `json:"verdict"`
	Reason  string          `json:"reason"`
	// AlsoInvalid are the other checkers the broken run found invalid.
	AlsoInvalid []string `json:"also_invalid,omitempty"`
	Seed        uint64   `json:"seed"`
	// Date is the day of the run, YYYY-MM-DD.
	Date string `json:"date"`
}

// CaughtFile is the file of records, in the scenarios package's folder.
// `KONG_RECORD_BROKEN=1 go test -run TestScenarios ./scenarios` rewrites the
// records of the broken worlds it runs (add -run 'TestScenarios/NAME/' for
// one scenario's), and `go generate ./scenarios` the README's table.
const CaughtFile = "testdata/broken-worlds.json"

// Catch makes the record of a run of v beside the healthy run of its
// scenario.
func (v Variant) Catch(scenario string, seed uint64, healthy, broken *run.Outcome, at time.Time) Caught {
	c := Caught{Scenario: scenario, Variant: v.Name, Checker: v.Checker, Seed: seed, Date: at.UTC().Format(time.DateOnly)}
	if h, ok := result(healthy, v.Checker); ok {
		c.Healthy = h.Valid
	}
	for _, r := range broken.Verdict.Children {
		switch {
		case r.Checker == v.Checker:
			c.Verdict, c.Reason = r.Valid, r.Reason
		case r.Valid == history.VerdictInvalid:
			c.AlsoInvalid = append(c.AlsoInvalid, r.Checker)
		}
	}
	return c
}

// Shows says how a record fails to show what v claims, or nil: its checker
// was valid in the healthy run and invalid in the broken one, for v.Reason,
// and no checker outside v.AlsoInvalid was invalid too.
func (v Variant) Shows(c Caught) error {
	var errs []error
	if c.Checker != v.Checker {
		errs = append(errs, fmt.Errorf("recorded for checker %s, not %s", c.Checker, v.Checker))
	}
	if c.Healthy != history.VerdictValid {
		errs = append(errs, fmt.Errorf("%s was %q in the healthy run", c.Checker, c.Healthy))
	}
	if c.Verdict != history.VerdictInvalid || !strings.Contains(c.Reason, v.Reason) {
		errs = append(errs, fmt.Errorf("%s was %q in the broken run, for %q, not invalid for %q", c.Checker, c.Verdict, c.Reason, v.Reason))
	}
	for _, other := range c.AlsoInvalid {
		if !slices.Contains(v.AlsoInvalid, other) {
			errs = append(errs, fmt.Errorf("%s was invalid in the broken run too", other))
		}
	}
	return errors.Join(errs...)
}

// ReadCaught reads a file of records (none when it does not exist).
func ReadCaught(path string) ([]Caught, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cs []Caught
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

// RecordCaught puts c into the file of records at path, in place of an
// earlier record of the same broken world, ordered by scenario and name.
func RecordCaught(path string, c Caught) error {
	cs, err := ReadCaught(path)
	if err != nil {
		return err
	}
	cs = slices.DeleteFunc(cs, func(o Caught) bool { return o.Scenario == c.Scenario && o.Variant == c.Variant })
	cs = append(cs, c)
	slices.SortFunc(cs, func(a, b Caught) int {
		return cmp.Or(strings.Compare(a.Scenario, b.Scenario), strings.Compare(a.Variant, b.Variant))
	})
	b, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
