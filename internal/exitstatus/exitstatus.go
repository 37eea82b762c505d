// Package exitstatus is kong's exit statuses, stable for CI to tell a
// broken system from a broken run, and the errors that carry them.
package exitstatus

import (
	"errors"
	"strings"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

const (
	// Held: every invariant held (or the command did what it was asked).
	Held = 0
	// NotHeld: a scenario ran to its verdict and an invariant did not hold.
	NotHeld = 1
	// BadInput: bad usage or bad input: an unknown command, flag or
	// scenario, a bad world name or home, a malformed topology file.
	BadInput = 2
	// World: the world could not be brought up or reached, or kong could
	// not finish the run (aborted, interrupted, infrastructure).
	World = 3
)

// Error carries the status kong exits with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Usage marks err as bad usage or bad input (exit status 2); nil stays
// nil.
func Usage(err error) error { return With(BadInput, err) }

// Failed marks err as an invariant that did not hold (exit status 1); nil
// stays nil.
func Failed(err error) error { return With(NotHeld, err) }

// With marks err with the exit status code; nil stays nil.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// cobraComplaints begin cobra's own errors about a command line.
var cobraComplaints = []string{"unknown command ", "unknown flag: ", "unknown shorthand flag: ", "accepts ", "requires at least ",
	"requires at most ", "invalid argument ", "flag needs an argument", "required flag(s) "}

// Of is the status kong exits with for err: the one it was marked with,
// bad input for a bad world name or home and for cobra's complaints about
// the command line, and World for any other error.
func Of(err error) int {
	if err == nil {
		return Held
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, topology.ErrWorldName) || errors.Is(err, local.ErrNotKongHome) || errors.Is(err, local.ErrNotWorldFolder) {
		return BadInput
	}
	for _, p := range cobraComplaints {
		if strings.HasPrefix(err.Error(), p) {
			return BadInput
		}
	}
	return World
}
