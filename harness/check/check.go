// Package check judges a recorded history. A Checker reads a history and
// returns a Result whose verdict is valid, invalid or unknown; Compose runs
// several and the worst verdict wins; ExpectHarm inverts one, to prove that
// it can fail. A checker never talks to the world: the package imports
// history and nothing else of kong.
package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kongchaos/kong/harness/history"
)

// Verdict is a checker's judgement: valid, invalid or unknown. When verdicts
// are composed the worst wins: invalid over unknown over valid.
type Verdict string

const (
	VerdictValid   Verdict = "valid"
	VerdictUnknown Verdict = "unknown"
	VerdictInvalid Verdict = "invalid"
)

func (v Verdict) rank() int {
	switch v {
	case VerdictValid:
		return 0
	case VerdictUnknown:
		return 1
	}
	return 2
}

// Worst returns the worse of two verdicts.
func Worst(a, b Verdict) Verdict {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Result is a checker's verdict with its reasons and key figures.
type Result struct {
	Checker string             `json:"checker"`
	Valid   Verdict            `json:"valid"`
	Reason  string             `json:"reason"`
	Figures map[string]float64 `json:"figures,omitempty"`
	// Details are short lines an engineer reads to see why (the worst
	// offenders, the phase that broke it).
	Details []string `json:"details,omitempty"`
	// Children holds the results of composed checkers.
	Children []Result `json:"children,omitempty"`
}

// Checker judges a recorded history; it never talks to the world.
type Checker interface {
	Name() string
	Check(h *history.History) Result
}

// IndexChecker is a Checker that can also judge a prebuilt index, so that
// several checkers (or a report) over one history pair its operations once.
// Every checker in this package implements it; Check(h) is
// CheckIndex(history.NewIndex(h)).
type IndexChecker interface {
	Checker
	CheckIndex(x *history.Index) Result
}

// Compose runs checkers by name and returns their results under one verdict,
// the worst of theirs.
type Compose []Checker

// Name implements Checker.
func (c Compose) Name() string { return "all" }

// Check implements Checker.
func (c Compose) Check(h *history.History) Result {
	r := Result{Checker: c.Name(), Valid: VerdictValid}
	var bad []string
	var x *history.Index // built once, shared by every checker that can use it
	for _, ch := range c {
		if ic, ok := ch.(IndexChecker); ok {
			if x == nil {
				x = history.NewIndex(h)
			}
			ch = indexed{IndexChecker: ic, x: x}
		}
		res := safeCheck(ch, h)
		r.Valid = Worst(r.Valid, res.Valid)
		if res.Valid != VerdictValid {
			bad = append(bad, fmt.Sprintf("%s: %s", res.Checker, res.Valid))
		}
		r.Children = append(r.Children, res)
	}
	sort.Strings(bad)
	if len(bad) == 0 {
		r.Reason = fmt.Sprintf("all %d checkers valid", len(c))
	} else {
		r.Reason = strings.Join(bad, "; ")
	}
	return r
}

// safeCheck turns a checker's panic into an unknown verdict, so that one
// broken checker never hides the others' results.
func safeCheck(c Checker, h *history.History) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			r = Result{Checker: c.Name(), Valid: VerdictUnknown, Reason: fmt.Sprintf("checker panicked: %v", p)}
		}
	}()
	r = c.Check(h)
	if r.Checker == "" {
		r.Checker = c.Name()
	}
	return r
}
