// Package clilog is the logger of kong's commands: a text logger at the
// level of the root's --log-level flag (debug, info, warn, error), or at
// the command's own default when the flag is not given.
package clilog

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// Levels are the levels --log-level takes.
var Levels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// Level is the level --log-level names, or def when it is not given.
func Level(cmd *cobra.Command, def slog.Level) slog.Level {
	v, _ := cmd.Flags().GetString("log-level")
	if l, ok := Levels[strings.ToLower(v)]; ok {
		return l
	}
	return def
}

// Check refuses a --log-level (or $KONG_LOG_LEVEL, its default) that is
// not one of Levels; none given is no error.
func Check(cmd *cobra.Command) error {
	v, _ := cmd.Flags().GetString("log-level")
	if _, ok := Levels[strings.ToLower(v)]; v != "" && !ok {
		return fmt.Errorf("--log-level (or KONG_LOG_LEVEL) %q: give debug, info, warn or error", v)
	}
	return nil
}

// New is a text logger on w at the level of --log-level, or def.
func New(cmd *cobra.Command, w io.Writer, def slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: Level(cmd, def)}))
}
