package main

import (
	"errors"
	"strings"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

// kong's exit statuses, stable for CI to tell a broken system from a
// broken run:
const (
	// exitHeld: every invariant held (or the command did what it was asked).
	exitHeld = 0
	// exitNotHeld: a scenario ran to its verdict and an invariant did not hold.
	exitNotHeld = 1
	// exitUsage: bad usage or bad input: an unknown command, flag or
	// scenario, a bad world name or home, a malformed topology file.
	exitUsage = 2
	// exitWorld: the world could not be brought up or reached, or kong
	// could not finish the run (aborted, interrupted, infrastructure).
	exitWorld = 3
)

// exitError carries the status kong exits with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usage marks err as bad usage or bad input (exit status 2).
func usage(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitUsage, err: err}
}

// notHeld marks err as an invariant that did not hold (exit status 1).
func notHeld(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitNotHeld, err: err}
}

// exitCode is the status kong exits with for err.
func exitCode(err error) int {
	if err == nil {
		return exitHeld
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	switch {
	case errors.Is(err, topology.ErrWorldName), errors.Is(err, local.ErrNotKongHome), errors.Is(err, local.ErrNotWorldFolder):
		return exitUsage
	}
	// cobra's own complaints about the command line.
	msg := err.Error()
	for _, p := range []string{"unknown command ", "unknown flag: ", "unknown shorthand flag: ", "accepts ", "requires at least ", "requires at most ", "invalid argument ", "flag needs an argument", "required flag(s) "} {
		if strings.HasPrefix(msg, p) {
			return exitUsage
		}
	}
	return exitWorld
}
