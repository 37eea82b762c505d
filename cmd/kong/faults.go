package main

import (
	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/fault"
)

// newFaults is `kong faults [NAME]`: the fault catalogue, or one fault.
func newFaults() *cobra.Command {
	return &cobra.Command{
		Use:   "faults [NAME]",
		Short: "List the faults kong can inject (the catalogue), or show one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fault.WriteCatalogue(cmd.OutOrStdout())
			}
			e, err := fault.Lookup(args[0])
			if err != nil {
				return usage(err)
			}
			return e.Write(cmd.OutOrStdout())
		},
	}
}
