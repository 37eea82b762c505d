// Command kong brings up a real multi-region world on this machine, breaks
// it on purpose, and reports whether the promises of active-active held.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "kong:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "kong",
		Short:         "Chaos game days for multi-region, active-active systems",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("world", envOr("KONG_WORLD", "kong"), "name of the world (its state folder, addresses and ports follow from it)")
	backendFlag(root)
	root.PersistentFlags().String("home", "", "folder of worlds' state (default $KONG_HOME or ~/.kong)")
	root.AddCommand(newUp(), newDown(), newStatus(), newLogs(), newSetup(), newBench(), newList(), newRun(), newReport(), newReports(), newDiff(), newGameday(), newReplicationCheck(), newServe(), newCompose())
	for _, a := range componentActions {
		root.AddCommand(newComponentAction(a))
	}
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
