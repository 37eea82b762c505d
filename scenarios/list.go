package scenarios

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kongchaos/kong/topology"
)

// Named returns the scenarios of a comma-separated list of names, in its
// order, or every registered one when names is empty; the error of the
// first name not registered lists the known ones.
func Named(names string) ([]Spec, error) {
	if names == "" {
		return All(), nil
	}
	var specs []Spec
	for _, n := range strings.Split(names, ",") {
		s, err := Get(strings.TrimSpace(n))
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// Fitting are the specs that a world of spec has the regions for (see
// Spec.MinRegions): what a game day runs when no scenario is named.
func Fitting(specs []Spec, spec *topology.Spec) []Spec {
	n := len(spec.RegionNames())
	return slices.DeleteFunc(slices.Clone(specs), func(s Spec) bool { return s.MinRegions > n })
}

// Names are the specs' names, in their order.
func Names(specs []Spec) []string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return names
}

// Planned is how long each spec's timed phases are planned to take, by
// name (see Spec.Planned).
func Planned(specs []Spec) map[string]time.Duration {
	planned := make(map[string]time.Duration, len(specs))
	for _, s := range specs {
		planned[s.Name] = s.Planned
	}
	return planned
}

// WriteList writes the registered scenarios as kong list prints them: a
// line each with its profile, timeout and description.
func WriteList(w io.Writer) error {
	all := All()
	if len(all) == 0 {
		_, err := fmt.Fprintln(w, "no scenarios are registered in this build")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tPROFILE\tTIMEOUT\tDESCRIPTION")
	for _, s := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Profile, s.Timeout, s.Description)
	}
	return tw.Flush()
}
