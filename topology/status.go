package topology

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteStatus writes a world's components as kong status prints them:
// title, then a table of the components (region, zone, ID, address, and the
// two columns the backend names in cols, filled by cells). The links and
// the rest of the world's fault state follow it (preflight.State).
func WriteStatus(w io.Writer, title string, comps []Status, cols [2]string, cells func(Status) [2]string) error {
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "REGION\tZONE\tCOMPONENT\tADDRESS\t%s\t%s\n", cols[0], cols[1])
	for _, c := range comps {
		x := cells(c)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(c.Region), dash(c.Zone), c.ID, c.Address, x[0], x[1])
	}
	return tw.Flush()
}

// WritePhases writes how long each phase of a start took, a line each.
func WritePhases(w io.Writer, phases []PhaseTime) {
	for _, p := range phases {
		fmt.Fprintf(w, "  %-16s %s\n", p.Phase, p.Duration.Round(10*time.Millisecond))
	}
}

// dash is s, or "-" for nothing.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
