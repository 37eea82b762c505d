// Command kong brings up a real multi-region world on this machine, breaks
// it on purpose, and reports whether the promises of active-active held.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/clilog"
	"github.com/kongchaos/kong/internal/deploycmd"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/serve"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/topology"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "kong:", err)
		os.Exit(exitstatus.Of(err))
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "kong",
		Short:         "Chaos game days for multi-region, active-active systems",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitstatus.Usage(err) })
	// Every command's world name is checked before it reaches a path, a
	// container label or a process: parents' hooks run before a child's own.
	cobra.EnableTraverseRunHooks = true
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		// A --log-level that is not a level is bad input.
		if err := exitstatus.Usage(clilog.Check(cmd)); err != nil {
			return err
		}
		if !usesWorld(cmd) {
			return nil
		}
		if err := topology.CheckWorldName(worldflags.World(cmd)); err != nil {
			return exitstatus.Usage(fmt.Errorf("--world (or KONG_WORLD): %w", err))
		}
		return nil
	}
	worldflags.RegisterRoot(root)
	logLevelFlag(root)
	versionFlag(root)
	root.AddCommand(newVersion(), newUp(), newDown(), newStatus(), newHeal(), newLogs(), newSetup(), newBench(), newList(), newRun(), newReport(), newReports(), newDiff(), newGameday(), newReplicationCheck(), serve.Command(), newCompose(), newImages(), newFaults(), deploycmd.Command(worldflags.Attach),
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
