package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

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
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			if len(args) == 0 {
				fmt.Fprintln(tw, "FAULT\tTARGETS\tDESCRIPTION\tPARAMETERS")
				for _, e := range fault.Catalogue() {
					var params []string
					for _, p := range e.Params {
						params = append(params, strings.TrimSuffix(p.Name+"="+p.Default, "="))
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, scopes(e.Targets), e.Description, strings.Join(params, " "))
				}
				return tw.Flush()
			}
			e, err := fault.Lookup(args[0])
			if err != nil {
				return usage(err)
			}
			fmt.Fprintf(tw, "%s: %s\ntargets: %s\n", e.Name, e.Description, scopes(e.Targets))
			if len(e.Params) > 0 {
				fmt.Fprintln(tw, "\nPARAMETER\tDEFAULT\tMEANING")
				for _, p := range e.Params {
					def := p.Default
					if def == "" {
						def = "(unchanged)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, def, p.Help)
				}
			}
			return tw.Flush()
		},
	}
}

func scopes(ss []fault.Scope) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ",")
}
