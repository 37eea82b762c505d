// Command kong brings up a real multi-region world on this machine, breaks
// it on purpose, and reports whether the promises of active-active held.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/internal/serve"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "kong:", err)
		os.Exit(exitCode(err))
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "kong",
		Short:         "Chaos game days for multi-region, active-active systems",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage(err) })
	// Every command's world name is checked before it reaches a path, a
	// container label or a process: parents' hooks run before a child's own.
	cobra.EnableTraverseRunHooks = true
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkLogLevel(cmd); err != nil {
			return err
		}
		if !usesWorld(cmd) {
			return nil
		}
		if err := topology.CheckWorldName(worldFlag(cmd)); err != nil {
			return usage(fmt.Errorf("--world (or KONG_WORLD): %w", err))
		}
		return nil
	}
	root.PersistentFlags().String("world", envOr("KONG_WORLD", "kong"), "name of the world (its state folder, addresses and ports follow from it)")
	backendFlag(root)
	root.PersistentFlags().String("home", "", "folder of worlds' state (default $KONG_HOME or ~/.kong)")
	_ = root.RegisterFlagCompletionFunc("world", complete.Flag(complete.Worlds(backendOf)))
	_ = root.RegisterFlagCompletionFunc("backend", complete.Flag(complete.Fixed(backendLocal, backendContainers)))
	logLevelFlag(root)
	versionFlag(root)
	root.AddCommand(newVersion(), newUp(), newDown(), newStatus(), newLogs(), newSetup(), newBench(), newList(), newRun(), newReport(), newReports(), newDiff(), newGameday(), newReplicationCheck(), serve.Command(), newCompose(), newFaults(),
		newTool("nodetool", "Run Cassandra's nodetool (from the world's jars) against a node, over its JMX port"),
		newTool("cqlsh", "Run cqlsh (Cassandra 5.0's, from PyPI into the cache when missing) against a node"))
	for _, a := range componentActions {
		root.AddCommand(newComponentAction(a))
	}
	return root
}

// usesWorld: every command but those that never touch a world (listing
// scenarios, reading or comparing reports, help, kong's own app servers).
func usesWorld(cmd *cobra.Command) bool {
	switch cmd.CommandPath() {
	case "kong", "kong version", "kong list", "kong faults", "kong diff", "kong report", "kong help", "kong setup",
		"kong serve member", "kong serve gateway", "kong serve director", "kong serve link-router", "kong serve toxiproxy":
		return false
	}
	for _, p := range []string{"kong completion", "kong __complete", "kong reports"} {
		if strings.HasPrefix(cmd.CommandPath(), p) {
			return false
		}
	}
	return true
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

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
