// Package preflight looks at a world before a run: a run that died
// without healing (SIGKILL, a machine that went down) leaves its damage in
// the world: links cut, toxics, member faults, an evacuation, an override
// or bouncing sessions at the director, gateways in failover, paused or
// stopped processes. The next run would measure that broken world and call
// it the scenario's effect, so every run first looks at the world and
// either resets what it finds (and says so in its phases.log and history)
// or refuses to run.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/topology"
)

// ErrWorldNotClean: the preflight found the world not as it was brought up,
// and was told not to reset it.
var ErrWorldNotClean = errors.New("the world is not as it was brought up")

// Timeout bounds a preflight's reset: restarting a stopped Cassandra node
// and waiting until every node sees it UP takes the longest.
const Timeout = 5 * time.Minute

// Check checks that world c is as it was brought up: every component
// running and not paused, every link's proxies present, enabled and free of
// toxics, no fault set in any member service and each running the base
// release, nothing evacuated or overridden at the director and no session
// bouncing, every gateway's runtime settings as it started. It returns what
// it found, one line each, such as "link us-east-1->us-west-2: cut (5 of 5
// proxies disabled)".
//
// With reset, it puts each thing back (resumes or starts components,
// deploys the base release to members on another, resets toxiproxy, clears
// member faults, restores the director and the gateways), then waits until
// the world is seen whole: nothing found any more, every Cassandra node
// seeing every node UP and every gateway seeing its members healthy.
// Without reset, findings are an error wrapping ErrWorldNotClean that names
// each. A link proxy that is missing cannot be reset: that is an error
// either way.
func Check(ctx context.Context, c topology.Cluster, reset bool) ([]string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, Timeout)
		defer cancel()
	}
	found, err := inspectWorld(ctx, c)
	if err != nil {
		return found.lines(), err
	}
	if len(found) == 0 {
		return nil, nil
	}
	if !reset {
		return found.lines(), fmt.Errorf("world %s: %w: %s", c.Name(), ErrWorldNotClean, strings.Join(found.lines(), "; "))
	}
	all := found
	// Components first: the admin APIs of paused or stopped ones cannot
	// answer, so what they hold is found once they run again.
	var errs []error
	for _, f := range found {
		if f.fix != nil && f.component {
			if err := f.fix(ctx); err != nil {
				errs = append(errs, fmt.Errorf("reset %s: %w", f.text, err))
			}
		}
	}
	if len(errs) > 0 {
		return all.lines(), errors.Join(errs...)
	}
	if found, err = inspectWorld(ctx, c); err != nil {
		return all.lines(), err
	}
	// The second look also finds what the first could not read (a member
	// that was stopped left on another release): a component fix seen only
	// now runs too.
	fixed := map[string]bool{}
	for _, f := range all {
		fixed[f.text] = true
	}
	for _, f := range found {
		if !f.component || !fixed[f.text] {
			all = append(all, f)
		}
	}
	all = all.dedup()
	for _, f := range found {
		if f.fix != nil && (!f.component || !fixed[f.text]) {
			if err := f.fix(ctx); err != nil {
				errs = append(errs, fmt.Errorf("reset %s: %w", f.text, err))
			}
		}
	}
	if len(errs) > 0 {
		return all.lines(), errors.Join(errs...)
	}
	err = fault.PollUntil(ctx, "world "+c.Name()+" whole again after the preflight's reset", func(ctx context.Context) error {
		left, err := inspectWorld(ctx, c)
		if err != nil {
			return err
		}
		if len(left) > 0 {
			return fmt.Errorf("still %s", strings.Join(left.lines(), "; "))
		}
		if err := fault.LinksAnswer(ctx, c, c.Links()); err != nil {
			return err
		}
		if err := fault.AllSeeUp(ctx, c); err != nil {
			return err
		}
		return gatewaysSeeMembers(ctx, c)
	})
	return all.lines(), err
}

// finding is one thing the preflight found, with what resets it.
type finding struct {
	text string
	kind string // the kind of component it is about, if one
	// component: fix resumes or starts a process (done before the rest).
	component bool
	fix       func(ctx context.Context) error
}

type findings []finding

func (fs findings) lines() []string {
	if len(fs) == 0 {
		return nil
	}
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.text
	}
	return out
}

func (fs findings) dedup() findings {
	seen := map[string]bool{}
	var out findings
	for _, f := range fs {
		if !seen[f.text] {
			seen[f.text] = true
			out = append(out, f)
		}
	}
	return out
}

// inspectWorld reads the world's state and lists what differs from the
// world as it was brought up. The admin APIs of components that do not run
// are not asked.
func inspectWorld(ctx context.Context, c topology.Cluster) (findings, error) {
	st, err := c.Components(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the components of world %s: %w", c.Name(), err)
	}
	var out findings
	running := map[string]bool{}
	for _, s := range st {
		switch s.State {
		case topology.StateRunning:
			running[s.ID] = true
		case topology.StatePaused:
			out = append(out, finding{text: s.ID + ": paused", kind: s.Kind, component: true, fix: func(ctx context.Context) error {
				if err := c.Resume(ctx, s.ID); err != nil {
					return err
				}
				return fault.PollUntil(ctx, s.ID+" running", func(ctx context.Context) error {
					return fault.AllInState(ctx, c, []topology.Component{s.Component}, topology.StateRunning)
				})
			}})
		default:
			out = append(out, finding{text: s.ID + ": " + string(s.State), kind: s.Kind, component: true, fix: func(ctx context.Context) error {
				return c.Start(ctx, s.ID)
			}})
		}
	}
	// Toxiproxy first among the components: the others' links go through it.
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].kind == topology.KindToxiproxy && out[j].kind != topology.KindToxiproxy
	})
	var errs []error
	for _, s := range st {
		if !running[s.ID] {
			continue
		}
		var fs findings
		var err error
		switch s.Kind {
		case topology.KindToxiproxy:
			fs, err = inspectLinks(c)
		case topology.KindMember:
			fs, err = inspectMember(ctx, c, s.Component)
		case topology.KindDirector:
			fs, err = inspectDirector(ctx, c, s.Component)
		case topology.KindGateway:
			fs, err = inspectGateway(ctx, c, s.Component)
		}
		out = append(out, fs...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// inspectLinks finds the link proxies that are disabled or carry toxics,
// grouped by link, and the proxies of no link that do. A proxy a link
// needs and toxiproxy lacks is an error: no reset brings it back.
func inspectLinks(c topology.Cluster) (findings, error) {
	api := c.ToxiproxyAPI()
	all, err := toxiclient.NewClient(api).Proxies()
	if err != nil {
		return nil, fmt.Errorf("list the proxies at toxiproxy %s: %w", api, err)
	}
	reset := func(context.Context) error { return fault.ResetLinks(api) }
	var out findings
	var missing []string
	ofLink := map[string]bool{}
	for _, l := range c.Links() {
		var disabled []string
		toxics := map[string][]string{} // toxic description -> proxies
		for _, name := range l.Proxies {
			ofLink[name] = true
			px, ok := all[name]
			if !ok {
				missing = append(missing, fmt.Sprintf("link %s: toxiproxy %s has no proxy %s", l.Name, api, name))
				continue
			}
			if !px.Enabled {
				disabled = append(disabled, name)
			}
			for _, t := range px.ActiveToxics {
				d := describeToxic(t)
				toxics[d] = append(toxics[d], name)
			}
		}
		switch {
		case len(disabled) == 0:
		case len(disabled) == len(l.Proxies):
			out = append(out, finding{text: fmt.Sprintf("link %s: cut (%d of %d proxies disabled)", l.Name, len(disabled), len(l.Proxies)), fix: reset})
		default:
			out = append(out, finding{text: fmt.Sprintf("link %s: partly cut (%d of %d proxies disabled: %s)", l.Name, len(disabled), len(l.Proxies), listSome(disabled)), fix: reset})
		}
		for _, d := range slices.Sorted(maps.Keys(toxics)) {
			out = append(out, finding{text: fmt.Sprintf("link %s: toxic %s on %d of %d proxies", l.Name, d, len(toxics[d]), len(l.Proxies)), fix: reset})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(all)) {
		px := all[name]
		if ofLink[name] {
			continue
		}
		if !px.Enabled {
			out = append(out, finding{text: fmt.Sprintf("toxiproxy proxy %s: disabled", name), fix: reset})
		}
		for _, t := range px.ActiveToxics {
			out = append(out, finding{text: fmt.Sprintf("toxiproxy proxy %s: toxic %s", name, describeToxic(t)), fix: reset})
		}
	}
	if len(missing) > 0 {
		return out, fmt.Errorf("world %s's links are broken beyond a reset (take the world down and up again): %s", c.Name(), strings.Join(missing, "; "))
	}
	return out, nil
}

// describeToxic says what a toxic does: "latency (latency, upstream; jitter=50 latency=150)".
func describeToxic(t toxiclient.Toxic) string {
	var attrs []string
	for _, k := range slices.Sorted(maps.Keys(t.Attributes)) {
		attrs = append(attrs, fmt.Sprintf("%s=%v", k, t.Attributes[k]))
	}
	s := t.Name + " (" + t.Type
	if t.Stream != "" {
		s += ", " + t.Stream
	}
	if t.Toxicity != 0 && t.Toxicity != 1 {
		s += fmt.Sprintf(", toxicity %g", t.Toxicity)
	}
	if len(attrs) > 0 {
		s += "; " + strings.Join(attrs, " ")
	}
	return s + ")"
}

// listSome lists up to three names, and how many more there are.
func listSome(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}

// releaser is a world that deploys member service releases (as
// deploy.Releaser says): it restarts an instance on a release.
type releaser interface {
	Deploy(ctx context.Context, id string, r member.Release) error
}

// inspectMember finds a member service's injected faults, and a release
// other than the base version deployed to it (a deploy that a run left
// behind: its version, good or defective, is not the world as brought up).
func inspectMember(ctx context.Context, c topology.Cluster, m topology.Component) (findings, error) {
	admin := member.NewAdminClient("http://"+m.Address, c.Secret())
	got, err := admin.Faults(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the faults of member %s: %w", m.ID, err)
	}
	found := memberFindings(m.ID, got, func(ctx context.Context) error {
		return admin.SetFaults(ctx, member.Faults{})
	})
	st, err := admin.Stats(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the version of member %s: %w", m.ID, err)
	}
	return append(found, releaseFindings(c, m.ID, st)...), nil
}

// releaseFindings is a finding when member id runs another release than
// the base version, reset by deploying the base version to it.
func releaseFindings(c topology.Cluster, id string, st member.StatsReport) findings {
	if st.Version == "" || st.Version == member.BaseVersion {
		return nil
	}
	text := fmt.Sprintf("member %s: runs release %s", id, st.Version)
	if st.Defects != (member.Faults{}) {
		text += " (defects: " + st.Defects.String() + ")"
	}
	return findings{{text: text + ", not " + member.BaseVersion, kind: topology.KindMember, component: true,
		fix: func(ctx context.Context) error {
			r, ok := c.(releaser)
			if !ok {
				return fmt.Errorf("world %s cannot deploy releases: bring it up again", c.Name())
			}
			return r.Deploy(ctx, id, member.Release{Version: member.BaseVersion})
		}}}
}

// memberFindings is what member id's faults got amount to: nothing when
// none is set, else one finding that names every fault and switch set
// (member.Faults.String) and resets them all with reset.
func memberFindings(id string, got member.Faults, reset func(context.Context) error) findings {
	if got == (member.Faults{}) {
		return nil
	}
	return findings{{text: fmt.Sprintf("member %s: %s", id, got), fix: reset}}
}

// inspectDirector finds evacuated regions, overridden geos and bouncing
// sessions.
func inspectDirector(ctx context.Context, c topology.Cluster, d topology.Component) (findings, error) {
	admin := director.NewAdminClient("http://"+d.Address, c.Secret())
	t, err := admin.Table(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the director's table: %w", err)
	}
	var out findings
	for _, r := range slices.Sorted(maps.Keys(t.Evacuated)) {
		if f := t.Evacuated[r]; f > 0 {
			out = append(out, finding{text: fmt.Sprintf("director: %s evacuated %s%%", r, strconv.FormatFloat(f*100, 'f', -1, 64)),
				fix: func(ctx context.Context) error {
					_, err := admin.Restore(ctx, r)
					return err
				}})
		}
	}
	for _, g := range slices.Sorted(maps.Keys(t.Overrides)) {
		out = append(out, finding{text: fmt.Sprintf("director: geo %s overridden to %s", g, t.Overrides[g]),
			fix: func(ctx context.Context) error {
				_, err := admin.ClearOverride(ctx, g)
				return err
			}})
	}
	if t.Bounce {
		out = append(out, finding{text: "director: bouncing sessions", fix: func(ctx context.Context) error {
			_, err := admin.SetBounce(ctx, false)
			return err
		}})
	}
	return out, nil
}

// inspectGateway finds runtime settings that differ from those the gateway
// started with. A gateway that does not report them (an older kong, with
// no initial mode) is not checked.
func inspectGateway(ctx context.Context, c topology.Cluster, g topology.Component) (findings, error) {
	admin := gateway.NewAdminClient("http://"+g.Address, c.Secret())
	v, err := admin.Config(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the settings of gateway %s: %w", g.ID, err)
	}
	if v.Initial.Mode == "" {
		return nil, nil
	}
	now, was := v.Dynamic, v.Initial
	var diffs []string
	diff := func(name, now, was string) {
		if now != was {
			diffs = append(diffs, fmt.Sprintf("%s=%s (started %s)", name, now, was))
		}
	}
	diff("mode", now.Mode, was.Mode)
	diff("failover", strconv.FormatBool(now.Failover), strconv.FormatBool(was.Failover))
	diff("max_rps", strconv.Itoa(now.MaxRPS), strconv.Itoa(was.MaxRPS))
	diff("max_concurrency", strconv.Itoa(now.MaxConcurrency), strconv.Itoa(was.MaxConcurrency))
	diff("member_try_ms", strconv.Itoa(now.MemberTryMS), strconv.Itoa(was.MemberTryMS))
	diff("ignore_geo", strconv.FormatBool(now.IgnoreGeo), strconv.FormatBool(was.IgnoreGeo))
	if len(now.HomeOverrides) > 0 || len(was.HomeOverrides) > 0 {
		diff("home_overrides", fmt.Sprint(now.HomeOverrides), fmt.Sprint(was.HomeOverrides))
	}
	if len(diffs) == 0 {
		return nil, nil
	}
	return findings{{text: fmt.Sprintf("gateway %s: %s", g.ID, strings.Join(diffs, " ")), fix: func(ctx context.Context) error {
		_, err := admin.Update(ctx, was.Patch())
		return err
	}}}, nil
}

// gatewaysSeeMembers checks that every running gateway sees each of its
// member instances healthy.
func gatewaysSeeMembers(ctx context.Context, c topology.Cluster) error {
	st, err := c.Components(ctx)
	if err != nil {
		return fmt.Errorf("list the components of world %s: %w", c.Name(), err)
	}
	for _, s := range st {
		if s.Kind != topology.KindGateway || s.State != topology.StateRunning {
			continue
		}
		members, err := gateway.NewAdminClient("http://"+s.Address, c.Secret()).Members(ctx)
		if err != nil {
			return err
		}
		for _, m := range members {
			if !m.Healthy {
				return fmt.Errorf("gateway %s sees member %s unhealthy", s.ID, m.Instance)
			}
		}
	}
	return nil
}
