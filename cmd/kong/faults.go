package main

import (
	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/output"
)

// newFaults is `kong faults [NAME]`: the fault catalogue, or one fault.
func newFaults() *cobra.Command {
	return jsonCommand(&cobra.Command{
		Use:               "faults [NAME]",
		Short:             "List the faults kong can inject (the catalogue), or show one",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: complete.Arg(complete.Faults),
	}, "the catalogue (or the one fault)", func(cmd *cobra.Command, args []string, asJSON bool) error {
		if len(args) == 0 {
			if asJSON {
				return output.Encode(cmd.OutOrStdout(), output.NewFaults(fault.Catalogue()...))
			}
			return output.WriteFaults(cmd.OutOrStdout(), fault.Catalogue()...)
		}
		e, err := fault.Lookup(args[0])
		if err != nil {
			return exitstatus.Usage(err)
		}
		if asJSON {
			return output.Encode(cmd.OutOrStdout(), output.NewFaults(e))
		}
		return output.WriteFault(cmd.OutOrStdout(), e)
	})
}
