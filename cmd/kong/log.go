package main

import (
	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/internal/worldflags"
)

// logLevelFlag is the root's --log-level: the level of every log kong
// writes (its progress logs on stderr, the servers' logs, a run's run.log).
// Unset, each keeps its own: warn for kong up and kong bench, info for the
// others.
func logLevelFlag(root *cobra.Command) {
	root.PersistentFlags().String("log-level", worldflags.EnvOr("KONG_LOG_LEVEL", ""),
		"level of kong's logs: debug, info, warn or error (default $KONG_LOG_LEVEL, else warn for kong up and bench, info for the others)")
	_ = root.RegisterFlagCompletionFunc("log-level", complete.Flag(complete.Fixed("debug", "info", "warn", "error")))
}
