package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/complete"
)

// logLevels are the levels --log-level takes.
var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// logLevelFlag is the root's --log-level: the level of every log kong
// writes (its progress logs on stderr, the servers' logs, a run's run.log).
// Unset, each keeps its own: warn for kong up and kong bench, info for the
// others.
func logLevelFlag(root *cobra.Command) {
	root.PersistentFlags().String("log-level", envOr("KONG_LOG_LEVEL", ""),
		"level of kong's logs: debug, info, warn or error (default $KONG_LOG_LEVEL, else warn for kong up and bench, info for the others)")
	_ = root.RegisterFlagCompletionFunc("log-level", complete.Flag(complete.Fixed("debug", "info", "warn", "error")))
}

// checkLogLevel refuses a --log-level (or $KONG_LOG_LEVEL) that is not a
// level (exit status 2).
func checkLogLevel(cmd *cobra.Command) error {
	v, _ := cmd.Flags().GetString("log-level")
	if _, ok := logLevels[strings.ToLower(v)]; v != "" && !ok {
		return usage(fmt.Errorf("--log-level (or KONG_LOG_LEVEL) %q: give debug, info, warn or error", v))
	}
	return nil
}

// logLevel is the level --log-level names, or def when it is not given.
func logLevel(cmd *cobra.Command, def slog.Level) slog.Level {
	v, _ := cmd.Flags().GetString("log-level")
	if l, ok := logLevels[strings.ToLower(v)]; ok {
		return l
	}
	return def
}

// newLogger is a text logger on w at the level of --log-level, or def.
func newLogger(cmd *cobra.Command, w io.Writer, def slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: logLevel(cmd, def)}))
}
