package main

import (
	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/progress"
)

// registerProgressFlag adds --progress to cmd.
func registerProgressFlag(cmd *cobra.Command, mode *string) {
	cmd.Flags().StringVar(mode, "progress", progress.Auto,
		"how to show progress: auto (a bar on a terminal, else a line every 5 s and on each phase change), bar, lines, off")
}
