package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/harness/deploy/canary"
	"github.com/kongchaos/kong/topology"
)

// Releaser is a world that deploys member service releases: it restarts an
// instance on a release and returns once the instance answers
// (local.World, local.Remote and containers.World).
type Releaser interface {
	Deploy(ctx context.Context, id string, r member.Release) error
}

// Versions are the releases a rollout can deploy, by version name.
type Versions map[string]member.Release

// DefaultVersions are the releases kong knows without being told: the base
// version, a good next one, and next ones with a defect each, the bad
// deploys a game day rolls out.
func DefaultVersions() Versions {
	vs := Versions{}
	for _, r := range []member.Release{
		{Version: member.BaseVersion},
		{Version: "v2"},
		{Version: "v2-errors", Defects: member.Faults{ErrorRate: 0.1}},
		{Version: "v2-slow", Defects: member.Faults{LatencyMS: 150}},
		{Version: "v2-wrong-member", Defects: member.Faults{WrongMemberRate: 0.05}},
		{Version: "v2-lost-writes", Defects: member.Faults{DropWriteRate: 0.05}},
	} {
		vs[r.Version] = r
	}
	return vs
}

// Names lists the versions, sorted.
func (vs Versions) Names() []string {
	var out []string
	for name := range vs {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Release finds a version.
func (vs Versions) Release(version string) (member.Release, error) {
	r, ok := vs[version]
	if !ok {
		return member.Release{}, fmt.Errorf("unknown version %q: the versions are %s", version, strings.Join(vs.Names(), ", "))
	}
	return r, nil
}

// Admins gives the admin client of each member service instance of a
// world, by instance ID.
type Admins func(instance string) (member.AdminClient, error)

// WorldAdmins finds the member service instances of a world and returns
// their admin clients, with the world's secret.
func WorldAdmins(ctx context.Context, c topology.Cluster) (Admins, error) {
	comps, err := c.Components(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the components of world %s: %w", c.Name(), err)
	}
	addrs := map[string]string{}
	for _, comp := range comps {
		if comp.Kind == topology.KindMember {
			addrs[comp.ID] = comp.Address
		}
	}
	return func(instance string) (member.AdminClient, error) {
		addr, ok := addrs[instance]
		if !ok {
			return member.AdminClient{}, fmt.Errorf("world %s has no member service instance %q", c.Name(), instance)
		}
		return member.NewAdminClient("http://"+addr, c.Secret()), nil
	}, nil
}

// WorldFleet deploys releases through a world, and confirms each instance
// answers with the version it was given.
type WorldFleet struct {
	World    Releaser
	Versions Versions
	Admins   Admins
}

// Deploy implements Fleet.
func (f WorldFleet) Deploy(ctx context.Context, instance, version string) error {
	r, err := f.Versions.Release(version)
	if err != nil {
		return err
	}
	if err := f.World.Deploy(ctx, instance, r); err != nil {
		return err
	}
	admin, err := f.Admins(instance)
	if err != nil {
		return err
	}
	stats, err := admin.Stats(ctx)
	if err != nil {
		return fmt.Errorf("%s restarted on %s but its stats did not answer: %w", instance, version, err)
	}
	if stats.Version != version {
		return fmt.Errorf("%s restarted on %s but says it runs %q", instance, version, stats.Version)
	}
	return nil
}

// World is a world's member service instances as a rollout sees them: the
// world that deploys to them, and their admin clients.
type World struct {
	Releaser Releaser
	Members  []topology.Component
	Admins   Admins
}

// OpenWorld finds world c's member service instances. It refuses a world
// whose backend cannot deploy releases.
func OpenWorld(ctx context.Context, c topology.Cluster) (*World, error) {
	releaser, ok := c.(Releaser)
	if !ok {
		return nil, fmt.Errorf("world %s runs on a backend that cannot deploy releases: use a local or container world (kong up)", c.Name())
	}
	comps, err := c.Components(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the components of world %s: %w", c.Name(), err)
	}
	w := &World{Releaser: releaser}
	for _, s := range comps {
		if s.Kind == topology.KindMember {
			w.Members = append(w.Members, s.Component)
		}
	}
	if w.Admins, err = WorldAdmins(ctx, c); err != nil {
		return nil, err
	}
	return w, nil
}

// Pipeline is a rollout over stages through the world, with versions from
// versions, each canary judged by DefaultJudge on the instances' own
// records of their requests (InstanceMetrics).
func (w *World) Pipeline(stages []Stage, versions Versions) *Pipeline {
	return &Pipeline{
		Stages: stages, Fleet: WorldFleet{World: w.Releaser, Versions: versions, Admins: w.Admins},
		Metrics: InstanceMetrics{Admins: w.Admins}, Judge: DefaultJudge(),
	}
}

// Versions reads the version each instance runs, by instance ID.
func (w *World) Versions(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range w.Members {
		a, err := w.Admins(m.ID)
		if err != nil {
			return nil, err
		}
		st, err := a.Stats(ctx)
		if err != nil {
			return nil, fmt.Errorf("the version of %s: %w", m.ID, err)
		}
		out[m.ID] = st.Version
	}
	return out, nil
}

// Current is the version every instance runs; instances that disagree are
// an error, since a rollout rolls back to one version.
func (w *World) Current(ctx context.Context) (string, error) {
	vs, err := w.Versions(ctx)
	if err != nil {
		return "", err
	}
	by := map[string][]string{}
	for id, v := range vs {
		by[v] = append(by[v], id)
	}
	if len(by) == 1 {
		for v := range by {
			return v, nil
		}
	}
	var parts []string
	for v, ids := range by {
		slices.Sort(ids)
		parts = append(parts, fmt.Sprintf("%s on %s", v, strings.Join(ids, ", ")))
	}
	slices.Sort(parts)
	return "", errors.New("the member service instances run different versions (" + strings.Join(parts, "; ") + "): deploy one version to all of them first")
}

// Reset deploys release r to every instance that runs another version, one
// at a time, and returns the instances it moved.
func (w *World) Reset(ctx context.Context, r member.Release) ([]string, error) {
	vs, err := w.Versions(ctx)
	if err != nil {
		return nil, err
	}
	var moved []string
	for _, m := range w.Members {
		if vs[m.ID] == r.Version {
			continue
		}
		if err := w.Releaser.Deploy(ctx, m.ID, r); err != nil {
			return moved, fmt.Errorf("deploy %s to %s: %w", r.Version, m.ID, err)
		}
		moved = append(moved, m.ID)
	}
	return moved, nil
}

// Names of the metrics InstanceMetrics gives.
const (
	// MetricErrors is 1 for each request an instance failed (5xx or no
	// answer), 0 for each other.
	MetricErrors = "errors"
	// MetricLatency is the milliseconds each answered request took.
	MetricLatency = "latency"
)

// DefaultJudge is how a member service canary is judged: its error rate
// (critical: a canary that errs more than its baseline by more than one
// point fails whatever else holds), and its latency (25 % and 5 ms
// tolerated).
func DefaultJudge() []canary.Metric {
	return []canary.Metric{
		{Name: MetricErrors, Harm: canary.Increase, Floor: 0.01, Critical: true},
		{Name: MetricLatency, Harm: canary.Increase, Tolerance: 0.25, Floor: 5},
	}
}

// InstanceMetrics reads each instance's own record of its recent requests
// (GET /admin/requests): what the instance served, whoever sent it.
type InstanceMetrics struct {
	Admins Admins
}

// Samples implements Metrics.
func (m InstanceMetrics) Samples(ctx context.Context, instances []string, from, to time.Time) (map[string][]float64, error) {
	out := map[string][]float64{MetricErrors: {}, MetricLatency: {}}
	for _, inst := range instances {
		admin, err := m.Admins(inst)
		if err != nil {
			return nil, err
		}
		rep, err := admin.Requests(ctx, from)
		if err != nil {
			return nil, fmt.Errorf("requests of %s: %w", inst, err)
		}
		if rep.Overwritten {
			return nil, fmt.Errorf("%s served more than %d requests in the window from %s: shorten the analysis", inst, member.RequestLogSize, from.Format(time.RFC3339))
		}
		for _, s := range rep.Samples {
			if s.At.Before(from) || !s.At.Before(to) {
				continue
			}
			if s.Failed() {
				out[MetricErrors] = append(out[MetricErrors], 1)
				continue
			}
			out[MetricErrors] = append(out[MetricErrors], 0)
			out[MetricLatency] = append(out[MetricLatency], s.LatencyMS)
		}
	}
	return out, nil
}
