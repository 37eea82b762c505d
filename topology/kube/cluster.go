package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
)

// World is a world on the cluster as a topology.Cluster. Its addresses
// are the plan's, names of Services that resolve inside the cluster: it
// serves a kong that runs there (the harness's traffic must not cross a
// port-forward), or, after ThroughClusterIPs, a kong on a machine that
// routes the Services' cluster IPs. Its faults go through the API (Ops).
type World struct {
	topology.PlanAddrs
	ops    *Ops
	spec   *topology.Spec
	secret string
	// ips maps each Service's host:port, as the world's servers name
	// each other, to its cluster IP and port, once the plan's addresses
	// are cluster IPs (ThroughClusterIPs).
	ips map[string]string
	// inCluster says that kong runs in a pod of the cluster, where the
	// world's Service names lead to their cluster IPs.
	inCluster bool
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

// ThroughClusterIPs makes the world's addresses its Services' cluster
// IPs, for a kong outside the cluster on a machine that routes them (a
// node's host: kube-proxy's rules are its own), and lets DialContext dial
// the names its servers hand out (the gateway the director names).
func (w *World) ThroughClusterIPs(ctx context.Context) error {
	if w.ips != nil {
		return nil // done: the addresses are cluster IPs already
	}
	namespaces := []string{w.ops.Control()}
	for _, r := range w.ops.Regions {
		namespaces = append(namespaces, w.ops.Region(r))
	}
	hosts := map[string]string{}
	for _, ns := range namespaces {
		list, err := w.ops.Client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelWorld + "=" + w.ops.World})
		if err != nil {
			return fmt.Errorf("world %s: its Services in %s: %w", w.ops.World, ns, err)
		}
		for _, svc := range list.Items {
			if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil {
				hosts[ServiceHost(svc.Name, svc.Namespace)] = ip.String()
			}
		}
	}
	w.ips = map[string]string{}
	at := func(addr *string) {
		host, port, err := net.SplitHostPort(*addr)
		if ip, ok := hosts[host]; ok && err == nil {
			w.ips[*addr] = net.JoinHostPort(ip, port)
			*addr = w.ips[*addr]
		}
	}
	p := w.Plan
	at(&p.Toxiproxy.Address)
	at(&p.Director.Address)
	for _, list := range [][]topology.Component{p.Memcached, p.SQS, p.Gateways, p.Members} {
		for i := range list {
			at(&list[i].Address)
		}
	}
	links := []map[string]string{p.SQSLinks, p.IsthmusLinks}
	for i := range p.Cassandra {
		at(&p.Cassandra[i].Address)
		links = append(links, p.Cassandra[i].LinkProxies)
	}
	for _, m := range links {
		for name, a := range m {
			at(&a)
			m[name] = a
		}
	}
	return nil
}

// DialContext dials addr, at its cluster IP when it is one of the world's
// Services (after ThroughClusterIPs).
func (w *World) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if ip, ok := w.ips[addr]; ok {
		addr = ip
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
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
		if ss.Status.ReadyReplicas >= healthyReplicas(ss) && ss.Status.ObservedGeneration >= ss.Generation && w.answers(ctx, id) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s started but does not answer yet (its pod not Ready, or not yet reached at its cluster IP): %w", id, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// answers says whether component id takes connections at its address,
// where kong runs inside the cluster or through its cluster IPs: a
// Service's cluster IP leads to the new pod only once kube-proxy (or the
// cluster's network) has its endpoint, which its Ready pod says nothing
// of. Elsewhere the addresses do not lead anywhere from here, and Ready
// is all there is to wait for.
func (w *World) answers(ctx context.Context, id string) bool {
	if w.ips == nil && !w.inCluster {
		return true
	}
	for _, c := range w.Plan.Components() {
		if c.ID == id {
			dctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			conn, err := w.DialContext(dctx, "tcp", c.Address)
			if err == nil {
				conn.Close()
			}
			return err == nil
		}
	}
	return true
}

// Stop stops component id gracefully, and returns once its pod is gone:
// a Start after it runs a new one.
func (w *World) Stop(ctx context.Context, id string) error {
	if err := w.ops.Stop(ctx, id); err != nil {
		return err
	}
	// A pod stuck terminating ends the wait, not the command.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ss, err := w.ops.component(ctx, id)
	if err != nil {
		return err
	}
	for {
		pods, err := w.ops.pods(ctx, ss, id)
		if err != nil {
			return err
		}
		if len(pods) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s stopped but its pod is still there: %w", id, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Kill kills component id at once.
func (w *World) Kill(ctx context.Context, id string) error { return w.ops.Kill(ctx, id) }

// Pause freezes component id's server.
func (w *World) Pause(ctx context.Context, id string) error { return w.ops.Pause(ctx, id) }

// Resume thaws component id's server.
func (w *World) Resume(ctx context.Context, id string) error { return w.ops.Resume(ctx, id) }

// Repair runs a full repair of keyspace's tables on Cassandra node id,
// with nodetool in its pod (over JMX on the pod's loopback).
func (w *World) Repair(ctx context.Context, id, keyspace string, tables ...string) error {
	if _, kind, _, err := topology.ParseID(id); err != nil || kind != topology.KindCassandra {
		return fmt.Errorf("repair: %s is not a Cassandra node", id)
	}
	if w.ops.Exec == nil {
		return fmt.Errorf("repair %s: no way to exec into its pod", id)
	}
	ss, err := w.ops.component(ctx, id)
	if err != nil {
		return err
	}
	pods, err := w.ops.pods(ctx, ss, id)
	if err != nil {
		return fmt.Errorf("repair %s: %w", id, err)
	}
	i := slices.IndexFunc(pods, func(p corev1.Pod) bool { return p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning })
	if i < 0 {
		return fmt.Errorf("repair %s: no running pod to run nodetool in", id)
	}
	pod := pods[i].Name
	argv := append([]string{"nodetool", "repair", "--full", keyspace}, tables...)
	if err := w.ops.Exec.Exec(ctx, ss.Namespace, pod, ss.Spec.Template.Spec.Containers[0].Name, argv); err != nil {
		return fmt.Errorf("repair %s (%s in pod %s/%s): %w", id, strings.Join(argv, " "), ss.Namespace, pod, err)
	}
	return nil
}

// Deploy restarts member service instance id on release r: the release
// goes into the instance's Secret (its configuration's folder, where
// kong serve member reads it), then its pod is replaced.
func (w *World) Deploy(ctx context.Context, id string, r member.Release) error {
	i := slices.IndexFunc(w.Plan.Members, func(c topology.Component) bool { return c.ID == id })
	if i < 0 {
		return fmt.Errorf("component %s is not a member service instance of world %s: only those take releases", id, w.ops.World)
	}
	data, err := r.Encode()
	if err != nil {
		return fmt.Errorf("deploy to %s: %w", id, err)
	}
	c := w.Plan.Members[i]
	patch, err := json.Marshal(map[string]any{"data": map[string][]byte{member.ReleaseFile: data}})
	if err != nil {
		return err
	}
	name, ns := ObjectName(c), w.ops.Of(c)
	if _, err := w.ops.Client.CoreV1().Secrets(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("deploy %s to %s: the release into Secret %s/%s: %w", r.Version, id, ns, name, err)
	}
	if err := w.Stop(ctx, id); err != nil {
		return fmt.Errorf("deploy %s to %s: stop: %w", r.Version, id, err)
	}
	if err := w.Start(ctx, id); err != nil {
		return fmt.Errorf("deploy %s to %s: start: %w", r.Version, id, err)
	}
	return nil
}
