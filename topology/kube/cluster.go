package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kongchaos/kong/topology"
)

// World is a world on the cluster as a topology.Cluster. Its addresses
// are the plan's, names of Services that resolve inside the cluster: it
// serves a kong that runs there (the harness's traffic must not cross a
// port-forward). Its faults go through the API (Ops).
type World struct {
	topology.PlanAddrs
	ops    *Ops
	spec   *topology.Spec
	secret string
}

var _ topology.Cluster = (*World)(nil)

// AttachWorld finds the world on the cluster: its spec and its secret in
// its Secret (which kong made: it carries the world's label), its nodes'
// broadcast addresses on their link routers' Services. It reads nothing
// outside the world's namespaces, so that a run inside the cluster needs
// no permission beyond them.
func AttachWorld(ctx context.Context, cs kubernetes.Interface, exec Execer, space Space) (*World, error) {
	if err := space.Check(); err != nil {
		return nil, err
	}
	world := space.World
	sec, err := cs.CoreV1().Secrets(space.Control()).Get(ctx, SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: no world %s on the cluster (no Secret %s/%s)", topology.ErrNotUp, world, space.Control(), SecretName)
	}
	if err != nil {
		return nil, fmt.Errorf("world %s: reading its Secret %s/%s: %w", world, space.Control(), SecretName, err)
	}
	if sec.Labels[LabelWorld] != world {
		return nil, fmt.Errorf("the Secret %s/%s is not labelled %s=%s: kong did not make it", sec.Namespace, sec.Name, LabelWorld, world)
	}
	var spec topology.Spec
	if err := json.Unmarshal(sec.Data[SpecKey], &spec); err != nil {
		return nil, fmt.Errorf("world %s: the spec in its Secret %s/%s: %w", world, sec.Namespace, sec.Name, err)
	}
	broadcast := map[string]netip.Addr{}
	for _, r := range spec.Regions {
		list, err := cs.CoreV1().Services(space.Region(r.Name)).List(ctx, metav1.ListOptions{LabelSelector: LabelKind + "=" + KindLinkRouter})
		if err != nil {
			return nil, fmt.Errorf("world %s: the link routers of %s: %w", world, r.Name, err)
		}
		for _, svc := range list.Items {
			if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil {
				broadcast[svc.Annotations[AnnotationID]] = ip
			}
		}
	}
	l, err := NewLayout(space, string(sec.Data[SecretKey]), &spec, broadcast)
	if err != nil {
		return nil, fmt.Errorf("world %s: %w", world, err)
	}
	return &World{PlanAddrs: topology.PlanAddrs{Plan: l.Plan}, ops: &Ops{Client: cs, Space: space, Exec: exec, Regions: spec.RegionNames()},
		spec: &spec, secret: l.Secret}, nil
}

// Name is the world's name.
func (w *World) Name() string { return w.ops.World }

// Spec is what the world was built from.
func (w *World) Spec() *topology.Spec { return w.spec }

// Secret is the world's secret.
func (w *World) Secret() string { return w.secret }

// Ops are the world's faults through the API.
func (w *World) Ops() *Ops { return w.ops }

// Components lists each component with its state: paused (marked so),
// stopped (scaled to 0, or no pod Ready yet), or running.
func (w *World) Components(ctx context.Context) ([]topology.Status, error) {
	sets, err := w.ops.statefulSets(ctx, LabelWorld+"="+w.ops.World)
	if err != nil {
		return nil, fmt.Errorf("listing world %s: %w", w.ops.World, err)
	}
	states := map[string]topology.State{}
	for _, ss := range sets {
		st := topology.StateStopped
		switch {
		case ss.Annotations[AnnotationPaused] != "":
			st = topology.StatePaused
		case ss.Spec.Replicas != nil && *ss.Spec.Replicas > 0 && ss.Status.ReadyReplicas >= *ss.Spec.Replicas:
			st = topology.StateRunning
		}
		states[ss.Annotations[AnnotationID]] = st
	}
	var out []topology.Status
	for _, c := range w.Plan.Components() {
		st, ok := states[c.ID]
		if !ok {
			st = topology.StateStopped
		}
		out = append(out, topology.Status{Component: c, State: st})
	}
	return out, nil
}

// Start scales component id back and waits until its pod is Ready (it
// answers: its readiness probe is its server's port, or for SQS its queue
// listed).
func (w *World) Start(ctx context.Context, id string) error {
	if err := w.ops.Start(ctx, id); err != nil {
		return err
	}
	for {
		ss, err := w.ops.component(ctx, id)
		if err != nil {
			return err
		}
		if ss.Status.ReadyReplicas >= healthyReplicas(ss) && ss.Status.ObservedGeneration >= ss.Generation {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s started but its pod is not Ready: %w", id, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Stop stops component id gracefully.
func (w *World) Stop(ctx context.Context, id string) error { return w.ops.Stop(ctx, id) }

// Kill kills component id at once.
func (w *World) Kill(ctx context.Context, id string) error { return w.ops.Kill(ctx, id) }

// Pause freezes component id's server.
func (w *World) Pause(ctx context.Context, id string) error { return w.ops.Pause(ctx, id) }

// Resume thaws component id's server.
func (w *World) Resume(ctx context.Context, id string) error { return w.ops.Resume(ctx, id) }
