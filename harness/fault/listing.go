package fault

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteCatalogue writes the catalogue as kong faults lists it: a line per
// fault with its targets, description and parameters (name=default).
func WriteCatalogue(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tTARGETS\tDESCRIPTION\tPARAMETERS")
	for _, e := range Catalogue() {
		var params []string
		for _, p := range e.Params {
			params = append(params, strings.TrimSuffix(p.Name+"="+p.Default, "="))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, scopeList(e.Targets), e.Description, strings.Join(params, " "))
	}
	return tw.Flush()
}

// Write writes the entry as kong faults NAME shows it: its description,
// targets, and a table of its parameters.
func (e Entry) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s: %s\ntargets: %s\n", e.Name, e.Description, scopeList(e.Targets))
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
}

// scopeList is ss separated by commas.
func scopeList(ss []Scope) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ",")
}
