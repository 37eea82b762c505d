package topology

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteStatus writes a world as kong status prints it: title, a table of
// the components (region, zone, ID, address, and the two columns the
// backend names in cols, filled by cells), and the links with the number
// of proxies of each.
func WriteStatus(w io.Writer, title string, comps []Status, cols [2]string, cells func(Status) [2]string, links []Link) error {
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "REGION\tZONE\tCOMPONENT\tADDRESS\t%s\t%s\n", cols[0], cols[1])
	for _, c := range comps {
		x := cells(c)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(c.Region), dash(c.Zone), c.ID, c.Address, x[0], x[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "links:")
	for _, l := range links {
		fmt.Fprintf(w, "  %-24s %d proxies\n", l.Name, len(l.Proxies))
	}
	return nil
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
