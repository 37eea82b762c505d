package output

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kongchaos/kong/harness/fault"
)

// FaultsSchema names the document of kong faults --json (and of kong
// faults NAME --json, which lists the one fault).
const FaultsSchema = "kong.faults/v1"

// Faults is the document of kong faults --json: the fault catalogue.
type Faults struct {
	Schema string  `json:"schema"`
	Faults []Fault `json:"faults"`
}

// Fault is one entry of the catalogue (fault.Entry).
type Fault struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Targets     []string `json:"targets"`
	Params      []Param  `json:"params"`
}

// Param is a parameter of a fault (fault.Param); Default is "" for a
// setting the fault leaves as it is.
type Param struct {
	Name    string `json:"name"`
	Default string `json:"default"`
	Help    string `json:"help"`
}

// NewFaults is the document of entries (fault.Catalogue() for kong
// faults).
func NewFaults(entries ...fault.Entry) Faults {
	d := Faults{Schema: FaultsSchema, Faults: []Fault{}}
	for _, e := range entries {
		f := Fault{Name: e.Name, Description: e.Description, Targets: []string{}, Params: []Param{}}
		for _, s := range e.Targets {
			f.Targets = append(f.Targets, string(s))
		}
		for _, p := range e.Params {
			f.Params = append(f.Params, Param{Name: p.Name, Default: p.Default, Help: p.Help})
		}
		d.Faults = append(d.Faults, f)
	}
	return d
}

// WriteFaults writes fault entries (fault.Catalogue()) as kong faults lists
// them: a line per fault with its targets, description and parameters
// (name=default).
func WriteFaults(w io.Writer, entries ...fault.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tTARGETS\tDESCRIPTION\tPARAMETERS")
	for _, e := range entries {
		var params []string
		for _, p := range e.Params {
			params = append(params, strings.TrimSuffix(p.Name+"="+p.Default, "="))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, scopeList(e.Targets), e.Description, strings.Join(params, " "))
	}
	return tw.Flush()
}

// WriteFault writes one fault entry as kong faults NAME shows it: its
// description, targets, and a table of its parameters.
func WriteFault(w io.Writer, e fault.Entry) error {
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
func scopeList(ss []fault.Scope) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ",")
}
