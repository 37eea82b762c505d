package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers/images"
)

// BackendName is the Kubernetes backend's name, as `kong --backend`
// spells it.
const BackendName = "kubernetes"

// Backend runs worlds on a Kubernetes cluster that the user points kong
// at: a namespace a region and a control namespace that owns them, found
// again by their labels by any kong that reaches the cluster.
type Backend struct {
	// Kubeconfig is the kubeconfig file ("": $KUBECONFIG, then
	// ~/.kube/config); Context is its context to use ("": its current).
	Kubeconfig, Context string
	// InCluster reaches the API server as the pod kong runs in (its
	// service account), as the world's healer does.
	InCluster bool
	// Prefix begins the names of a world's namespaces ("":
	// DefaultPrefix).
	Prefix string
	// Images are what the pods run (nil: ImagesFromEnv).
	Images Images
	// ViaClusterIPs attaches worlds from outside the cluster through their
	// Services' cluster IPs, on a machine that routes them (a node's host,
	// as in kong's tests on a real node): the game day's traffic then runs
	// here.
	ViaClusterIPs bool
}

var _ topology.Backend = (*Backend)(nil)

// Name is BackendName.
func (*Backend) Name() string { return BackendName }

// Space is where world lives on the backend's cluster, checked.
func (b *Backend) Space(world string) (Space, error) {
	s := Space{Prefix: b.Prefix, World: world}
	return s, s.Check()
}

// Config is how the backend reaches the API server.
func (b *Backend) Config() (*rest.Config, error) {
	if b.InCluster {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("reaching the API server from inside the cluster: %w", err)
		}
		cfg.QPS, cfg.Burst = 50, 100
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = b.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: b.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("the kubernetes backend needs a cluster: %w (name a kubeconfig with --kubeconfig or $KUBECONFIG, and a context with --context)", err)
	}
	// A world is a hundred objects or so: client-go's default of 5
	// requests a second would take 20 s to make them.
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// Client is a client of the API server.
func (b *Backend) Client() (kubernetes.Interface, error) {
	cfg, err := b.Config()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// Up makes every object of the world, waits until every pod is Ready and
// the setup Job has readied the Cassandra cluster, and leaves the world
// running. A failed, timed-out or interrupted start removes the world.
func (b *Backend) Up(ctx context.Context, world string, spec *topology.Spec, o topology.UpOptions) (topology.Started, error) {
	space, err := b.Space(world)
	if err != nil {
		return topology.Started{}, err
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	cs, err := b.Client()
	if err != nil {
		return topology.Started{}, err
	}
	im := b.Images
	if im == nil {
		im = ImagesFromEnv()
	}
	secret, err := newSecret()
	if err != nil {
		return topology.Started{}, err
	}
	fmt.Fprintf(out, "bringing up world %s (%s, %d regions) on Kubernetes, in namespaces %s and %s-<region>\n",
		world, spec.Source(), len(spec.Regions), space.Control(), space.Control())
	start := time.Now()
	uctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var phases []topology.PhaseTime
	phase := func(name string, since time.Time) {
		phases = append(phases, topology.PhaseTime{Phase: name, Duration: time.Since(since)})
	}
	l, err := Create(uctx, cs, space, secret, spec, im)
	if err == nil {
		phase("objects", start)
		pods := time.Now()
		if err = WaitReady(uctx, cs, space, len(l.Plan.Components()), o.Progress, start); err == nil {
			phase("pods ready", pods)
			setup := time.Now()
			if err = WaitSetup(uctx, cs, space); err == nil {
				phase("cassandra setup", setup)
			}
		}
	}
	if o.Progress != nil {
		o.Progress(topology.UpProgress{Elapsed: time.Since(start), Done: true})
	}
	if err != nil {
		var remove func() error
		if l != nil {
			remove = func() error { return b.remove(context.WithoutCancel(ctx), cs, space) }
		}
		return topology.Started{}, topology.FailedStart(ctx, uctx, out, world, o.Timeout, err, remove)
	}
	return topology.Started{Took: time.Since(start), Phases: phases}, nil
}

// newSecret is a fresh world secret.
func newSecret() (string, error) { return randomHex(32) }

// WaitReady waits until the world's n components and its link routers and
// healer have their pods Ready, telling progress (when set) how many are.
func WaitReady(ctx context.Context, cs kubernetes.Interface, space Space, n int, progress func(topology.UpProgress), start time.Time) error {
	world := space.World
	sel := metav1.ListOptions{LabelSelector: LabelWorld + "=" + world}
	for {
		sets, err := cs.AppsV1().StatefulSets(metav1.NamespaceAll).List(ctx, sel)
		if err != nil {
			return fmt.Errorf("listing the components of world %s: %w", world, err)
		}
		deps, err := cs.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, sel)
		if err != nil {
			return fmt.Errorf("listing the link routers of world %s: %w", world, err)
		}
		sets.Items = slices.DeleteFunc(sets.Items, func(s appsv1.StatefulSet) bool { return !space.Owns(s.Namespace) })
		deps.Items = slices.DeleteFunc(deps.Items, func(d appsv1.Deployment) bool { return !space.Owns(d.Namespace) })
		ready, total, waiting := readyCount(sets.Items, deps.Items)
		if progress != nil {
			progress(topology.UpProgress{Elapsed: time.Since(start), Phase: "pods", Ready: ready, Total: total})
		}
		if len(sets.Items) == n && ready == total {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d pods ready; waiting for %s", ready, total, listSome(waiting))
		case <-time.After(time.Second):
		}
	}
}

// readyCount counts the ready replicas of sets and deps against those
// they should run, and names those not all ready.
func readyCount(sets []appsv1.StatefulSet, deps []appsv1.Deployment) (ready, total int, waiting []string) {
	count := func(name string, want *int32, have int32) {
		w := int32(1)
		if want != nil {
			w = *want
		}
		total += int(w)
		ready += int(min(have, w))
		if have < w {
			waiting = append(waiting, name)
		}
	}
	for _, s := range sets {
		count(s.Namespace+"/"+s.Name, s.Spec.Replicas, s.Status.ReadyReplicas)
	}
	for _, d := range deps {
		count(d.Namespace+"/"+d.Name, d.Spec.Replicas, d.Status.ReadyReplicas)
	}
	slices.Sort(waiting)
	return ready, total, waiting
}

// listSome names up to five of names.
func listSome(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}

// WaitSetup waits until the world's setup Job has succeeded; one that
// failed is an error that says where its log is.
func WaitSetup(ctx context.Context, cs kubernetes.Interface, space Space) error {
	world := space.World
	for {
		job, err := cs.BatchV1().Jobs(space.Control()).Get(ctx, SetupName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading the setup Job of world %s: %w", world, err)
		}
		for _, c := range job.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				continue
			}
			switch c.Type {
			case batchv1.JobComplete:
				return nil
			case batchv1.JobFailed:
				return fmt.Errorf("the setup of world %s failed (%s: %s): see kubectl logs -n %s job/%s",
					world, c.Reason, c.Message, space.Control(), SetupName)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the setup Job of world %s has not succeeded (kubectl logs -n %s job/%s)", world, space.Control(), SetupName)
		case <-time.After(time.Second):
		}
	}
}

// ErrNoAttach is Attach's error outside the cluster: a game day's
// traffic (CQL, memcached, SQS, the application) must reach the world's
// Services, which resolve inside the cluster only.
var ErrNoAttach = errors.New("this command needs the world's traffic, which runs inside the cluster on the kubernetes backend: kong run, kong gameday and kong replication-check go there by themselves (a Job of the world); kong deploy does not yet (run it in a pod of the cluster with --in-cluster)")

// Attach finds the world, from inside the cluster (InCluster) or through
// its cluster IPs (ViaClusterIPs); otherwise ErrNoAttach.
func (b *Backend) Attach(ctx context.Context, world string) (topology.Cluster, func(), error) {
	if !b.InCluster && !b.ViaClusterIPs {
		return nil, nil, ErrNoAttach
	}
	ops, err := b.Ops(world)
	if err != nil {
		return nil, nil, err
	}
	w, err := AttachWorld(ctx, ops.Client, ops.Exec, ops.Space)
	if err == nil {
		w.inCluster = b.InCluster
		if b.ViaClusterIPs && !b.InCluster {
			err = w.ThroughClusterIPs(ctx)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return w, func() {}, nil
}

// Ops are the faults of world on the cluster, pause and resume through
// the API server's exec.
func (b *Backend) Ops(world string) (*Ops, error) {
	space, err := b.Space(world)
	if err != nil {
		return nil, err
	}
	cfg, err := b.Config()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Ops{Client: cs, Space: space, Exec: APIExec{Config: cfg, Client: cs}}, nil
}

// Down removes the world's namespaces (and with them everything in them)
// and waits until they are gone.
func (b *Backend) Down(ctx context.Context, world string, _ time.Duration) error {
	space, err := b.Space(world)
	if err != nil {
		return err
	}
	cs, err := b.Client()
	if err != nil {
		return err
	}
	return b.remove(ctx, cs, space)
}

// remove is Delete, then a wait of at most two minutes for the
// namespaces to go.
func (b *Backend) remove(ctx context.Context, cs kubernetes.Interface, space Space) error {
	world := space.World
	if err := Delete(ctx, cs, space); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelWorld + "=" + world})
		if err == nil {
			list.Items = slices.DeleteFunc(list.Items, func(ns corev1.Namespace) bool { return !space.Owns(ns.Name) })
			if len(list.Items) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			var left []string
			if list != nil {
				for _, ns := range list.Items {
					left = append(left, ns.Name)
				}
			}
			return fmt.Errorf("world %s: namespaces %s not gone yet (they are being deleted: kubectl get ns -l %s=%s)", world, listSome(left), LabelWorld, world)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Worlds lists the worlds on the cluster.
func (b *Backend) Worlds(ctx context.Context) ([]string, error) {
	if err := CheckPrefix(b.Prefix); err != nil {
		return nil, err
	}
	cs, err := b.Client()
	if err != nil {
		return nil, err
	}
	return Worlds(ctx, cs, b.Prefix)
}

// Logs writes the end (lines; 0: all) of the log of component id's pod.
func (b *Backend) Logs(ctx context.Context, w io.Writer, world, id string, lines int) error {
	ops, err := b.Ops(world)
	if err != nil {
		return err
	}
	cs := ops.Client
	ss, err := ops.component(ctx, id)
	if err != nil {
		return err
	}
	pod := ss.Name + "-0"
	opts := &corev1.PodLogOptions{Container: ss.Spec.Template.Spec.Containers[0].Name}
	if lines > 0 {
		opts.TailLines = ptr(int64(lines))
	}
	rc, err := cs.CoreV1().Pods(ss.Namespace).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		return fmt.Errorf("the log of %s (pod %s/%s): %w", id, ss.Namespace, pod, err)
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	return err
}

// Status writes each component of the world: its region, zone, pod,
// node, and whether it runs, is stopped (scaled to 0) or paused.
func (b *Backend) Status(ctx context.Context, w io.Writer, world string) error {
	ops, err := b.Ops(world)
	if err != nil {
		return err
	}
	cs := ops.Client
	sets, err := ops.statefulSets(ctx, LabelWorld+"="+world)
	if err != nil {
		return fmt.Errorf("listing world %s: %w", world, err)
	}
	if len(sets) == 0 {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ops.Control(), metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return fmt.Errorf("%w: no world %s on the cluster", topology.ErrNotUp, world)
		}
	}
	slices.SortFunc(sets, func(a, b appsv1.StatefulSet) int {
		return strings.Compare(a.Annotations[AnnotationID], b.Annotations[AnnotationID])
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "world %s on Kubernetes (kubernetes backend)\n", world)
	fmt.Fprintln(tw, "COMPONENT\tREGION\tZONE\tPOD\tNODE\tSTATE")
	for _, ss := range sets {
		state := "running"
		switch {
		case ss.Annotations[AnnotationPaused] != "":
			state = "paused"
		case ss.Spec.Replicas != nil && *ss.Spec.Replicas == 0:
			state = "stopped"
		case ss.Status.ReadyReplicas < healthyReplicas(&ss):
			state = "starting"
		}
		pod, node := "-", "-"
		if p, err := cs.CoreV1().Pods(ss.Namespace).Get(ctx, ss.Name+"-0", metav1.GetOptions{}); err == nil {
			pod, node = p.Namespace+"/"+p.Name, p.Spec.NodeName
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ss.Annotations[AnnotationID], or(ss.Labels[LabelRegion], "-"),
			or(ss.Labels[LabelZone], "-"), pod, or(node, "-"), state)
	}
	return tw.Flush()
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// Remote is a runner of kong commands inside the cluster, on world, from
// outside it (see Remote), showing their output on out.
func (b *Backend) Remote(world string, out io.Writer) (*Remote, error) {
	ops, err := b.Ops(world)
	if err != nil {
		return nil, err
	}
	im := b.Images
	if im == nil {
		im = ImagesFromEnv()
	}
	exec, _ := ops.Exec.(APIExec)
	return &Remote{Client: ops.Client, Exec: exec, Space: ops.Space, Image: im[images.RoleKong], Out: out}, nil
}

// LockRun holds world's run lease for holder (which run: the host and
// process) until the returned function lets go of it: while it holds, no
// other run starts on the world, and if this kong dies the world's healer
// heals what it left (see Acquire).
func (b *Backend) LockRun(ctx context.Context, world, holder string) (func(), error) {
	ops, err := b.Ops(world)
	if err != nil {
		return nil, err
	}
	l, err := Acquire(ctx, ops.Client, ops.Space, holder, DefaultLeaseDuration)
	if err != nil {
		return nil, err
	}
	return func() { _ = l.Release(context.WithoutCancel(ctx)) }, nil
}
