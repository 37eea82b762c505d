package preflight

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
)

// State is a world's fault state, as kong status shows it below the
// components: each link's proxies (enabled or cut, their toxics), the
// director's routing, each gateway's runtime settings, and what differs
// from the world as it was brought up (Findings, the lines a run's
// preflight would reset; none: the world is clean).
type State struct {
	Links []LinkState `json:"links"`
	// Director is the director's table; nil when no director answered.
	Director *director.Table `json:"director,omitempty"`
	Gateways []GatewayState  `json:"gateways"`
	// Members are the release each member service instance runs.
	Members  []MemberState `json:"members"`
	Findings []string      `json:"findings"`
	// Unread says what could not be read (a component that did not
	// answer); the rest is shown.
	Unread []string `json:"unread,omitempty"`
}

// LinkState is one link's proxies at toxiproxy.
type LinkState struct {
	Name     string `json:"name"`
	Proxies  int    `json:"proxies"`
	Disabled int    `json:"disabled"`
	// Toxics are the toxics on its proxies, each with its attributes and
	// on how many proxies it is.
	Toxics []string `json:"toxics,omitempty"`
}

// State is "ok", "cut" or "partly cut (N of M proxies disabled)".
func (l LinkState) State() string {
	switch {
	case l.Disabled == 0:
		return "ok"
	case l.Disabled == l.Proxies:
		return "cut"
	}
	return fmt.Sprintf("partly cut (%d of %d proxies disabled)", l.Disabled, l.Proxies)
}

// GatewayState is a gateway's runtime settings in force.
type GatewayState struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	gateway.Dynamic
}

// MemberState is the release a member service instance runs, and the
// defects the release carries ("" for none).
type MemberState struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Defects string `json:"defects,omitempty"`
}

// Inspect reads world c's fault state. It changes nothing.
func Inspect(ctx context.Context, c topology.Cluster) (State, error) {
	var st State
	found, err := inspectWorld(ctx, c)
	st.Findings = found.lines()
	if err != nil {
		st.Unread = append(st.Unread, err.Error())
	}
	st.Links, err = linkStates(c)
	if err != nil {
		st.Unread = append(st.Unread, err.Error())
	}
	comps, err := c.Components(ctx)
	if err != nil {
		return st, fmt.Errorf("list the components of world %s: %w", c.Name(), err)
	}
	for _, s := range comps {
		if s.State != topology.StateRunning {
			continue
		}
		switch s.Kind {
		case topology.KindDirector:
			t, err := director.NewAdminClient("http://"+s.Address, c.Secret()).Table(ctx)
			if err != nil {
				st.Unread = append(st.Unread, fmt.Sprintf("director %s: %v", s.ID, err))
				continue
			}
			st.Director = &t
		case topology.KindGateway:
			v, err := gateway.NewAdminClient("http://"+s.Address, c.Secret()).Config(ctx)
			if err != nil {
				st.Unread = append(st.Unread, fmt.Sprintf("gateway %s: %v", s.ID, err))
				continue
			}
			st.Gateways = append(st.Gateways, GatewayState{ID: s.ID, Region: s.Region, Dynamic: v.Dynamic})
		case topology.KindMember:
			r, err := member.NewAdminClient("http://"+s.Address, c.Secret()).Stats(ctx)
			if err != nil {
				st.Unread = append(st.Unread, fmt.Sprintf("member %s: %v", s.ID, err))
				continue
			}
			m := MemberState{ID: s.ID, Version: r.Version}
			if r.Defects != (member.Faults{}) {
				m.Defects = r.Defects.String()
			}
			st.Members = append(st.Members, m)
		}
	}
	return st, nil
}

// linkStates reads every link's proxies at toxiproxy.
func linkStates(c topology.Cluster) ([]LinkState, error) {
	api := c.ToxiproxyAPI()
	all, err := toxiclient.NewClient(api).Proxies()
	if err != nil {
		return nil, fmt.Errorf("list the proxies at toxiproxy %s: %w", api, err)
	}
	var out []LinkState
	var missing []string
	for _, l := range c.Links() {
		ls := LinkState{Name: l.Name, Proxies: len(l.Proxies)}
		toxics := map[string]int{}
		for _, name := range l.Proxies {
			px, ok := all[name]
			if !ok {
				missing = append(missing, name)
				continue
			}
			if !px.Enabled {
				ls.Disabled++
			}
			for _, t := range px.ActiveToxics {
				toxics[describeToxic(t)]++
			}
		}
		for _, d := range slices.Sorted(maps.Keys(toxics)) {
			ls.Toxics = append(ls.Toxics, fmt.Sprintf("%s on %d of %d proxies", d, toxics[d], ls.Proxies))
		}
		out = append(out, ls)
	}
	if len(missing) > 0 {
		return out, fmt.Errorf("toxiproxy %s has no proxy %s", api, listSome(missing))
	}
	return out, nil
}

// Write prints the state as kong status shows it: a summary line ("clean",
// or how many things differ from the world as brought up, then each), the
// links, the director's routing and the gateways.
func (st State) Write(w io.Writer) error {
	switch {
	case len(st.Findings) == 0 && len(st.Unread) == 0:
		fmt.Fprintln(w, "fault state: clean (as brought up: no link cut or slowed, nothing paused or stopped, no member fault or release other than "+member.BaseVersion+", no evacuation, gateways as started)")
	case len(st.Findings) == 0:
		fmt.Fprintln(w, "fault state: unknown: some of the world could not be read")
	default:
		fmt.Fprintf(w, "fault state: NOT clean, %d thing(s) differ from the world as brought up (the next kong run resets them; --no-reset refuses):\n", len(st.Findings))
		for _, f := range st.Findings {
			fmt.Fprintf(w, "  - %s\n", f)
		}
	}
	for _, u := range st.Unread {
		fmt.Fprintf(w, "  could not read: %s\n", u)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LINK\tPROXIES\tSTATE\tTOXICS")
	for _, l := range st.Links {
		toxics := "-"
		if len(l.Toxics) > 0 {
			toxics = strings.Join(l.Toxics, "; ")
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", l.Name, l.Proxies, l.State(), toxics)
	}
	if len(st.Gateways) > 0 {
		fmt.Fprintln(tw, "\nGATEWAY\tMODE\tFAILOVER\tMAX_RPS\tMAX_CONCURRENCY\tTRY_MS\tIGNORE_GEO\tHOME_OVERRIDES")
		for _, g := range st.Gateways {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%d\t%d\t%d\t%t\t%s\n", g.ID, g.Mode, g.Failover, g.MaxRPS, g.MaxConcurrency, g.MemberTryMS, g.IgnoreGeo, mapOrDash(g.HomeOverrides))
		}
	}
	if len(st.Members) > 0 {
		fmt.Fprintln(tw, "\nMEMBER\tVERSION\tDEFECTS")
		for _, m := range st.Members {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m.ID, m.Version, cmp.Or(m.Defects, "-"))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if d := st.Director; d != nil {
		fmt.Fprintln(w, "director:")
		for _, geo := range d.Geos {
			line := fmt.Sprintf("  geo %-12s home %-12s routes to %s", geo, d.Home[geo], shares(d.Effective[geo], d.Regions))
			if r, ok := d.Overrides[geo]; ok {
				line += " (overridden to " + r + ")"
			}
			fmt.Fprintln(w, line)
		}
		for _, r := range d.Regions {
			if f := d.Evacuated[r]; f > 0 {
				fmt.Fprintf(w, "  region %s evacuated %s\n", r, percent(f))
			}
		}
		if d.Bounce {
			fmt.Fprintln(w, "  bouncing sessions (every request routed afresh)")
		}
	}
	return nil
}

// shares writes a distribution over regions, in their order: "us-east-1 75%, us-west-2 25%".
func shares(dist map[string]float64, regions []string) string {
	var parts []string
	for _, r := range regions {
		if f, ok := dist[r]; ok && f > 0 {
			parts = append(parts, r+" "+percent(f))
		}
	}
	if len(parts) == 0 {
		return "nowhere"
	}
	return strings.Join(parts, ", ")
}

// percent writes a share in [0,1] as a percentage to a tenth.
func percent(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%"
}

func mapOrDash(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}
