// Package check judges a recorded history. A Checker reads a history (its
// index) and returns a Result whose verdict is valid, invalid or unknown;
// Compose runs several and the worst verdict wins; ExpectHarm inverts one,
// to prove that it can fail. Each checker's file registers it (Register), so
// Registered lists them all. A checker never talks to the world: the
// package imports history and nothing else of kong.
package check

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kongchaos/kong/harness/history"
)

// Checker judges a recorded history; it never talks to the world. It reads
// the history through an index (history.NewIndex: invokes paired with their
// completions, phases resolved), which several checkers over one history
// share, so that its operations are paired once.
type Checker interface {
	Name() string
	Check(x *history.Index) history.Result
}

// Compose runs checkers by name and returns their results under one verdict,
// the worst of theirs.
type Compose []Checker

// Name implements Checker.
func (c Compose) Name() string { return "all" }

// Check implements Checker.
func (c Compose) Check(x *history.Index) history.Result {
	r := history.Result{Checker: c.Name(), Valid: history.VerdictValid}
	var bad []string
	for _, ch := range c {
		res := safeCheck(ch, x)
		r.Valid = history.Worst(r.Valid, res.Valid)
		if res.Valid != history.VerdictValid {
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
func safeCheck(c Checker, x *history.Index) (r history.Result) {
	defer func() {
		if p := recover(); p != nil {
			r = history.Result{Checker: c.Name(), Valid: history.VerdictUnknown, Reason: fmt.Sprintf("checker panicked: %v", p)}
		}
	}()
	r = c.Check(x)
	if r.Checker == "" {
		r.Checker = c.Name()
	}
	return r
}
