package kube

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kongchaos/kong/topology"
)

// FieldManager is the name kong's changes carry on the cluster.
const FieldManager = "kong"

// Create makes every object of the world on the cluster: the control
// namespace, the region namespaces it owns, the routers' Services (whose
// cluster IPs become the nodes' broadcast addresses), then the
// ConfigMaps, Services, routers and components. It does not wait for the
// pods. A failed create removes what it made. A world that exists already
// is refused, whatever its namespaces' prefix: Delete it first.
func Create(ctx context.Context, cs kubernetes.Interface, space Space, secret string, spec *topology.Spec, im Images) (l *Layout, err error) {
	world := space.World
	routers, err := RouterServices(space, spec)
	if err != nil {
		return nil, err
	}
	have, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelWorld + "=" + world})
	if err != nil {
		return nil, fmt.Errorf("looking for world %s on the cluster: %w", world, err)
	}
	if len(have.Items) > 0 {
		return nil, fmt.Errorf("world %s exists on the cluster already (namespace %s): a world's name is unique on a cluster whatever its namespaces' prefix; remove it (kong down --world %s --backend kubernetes, with its --namespace-prefix) or choose another name",
			world, have.Items[0].Name, world)
	}
	opts := metav1.CreateOptions{FieldManager: FieldManager}
	control, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: meta(space.Control(), "",
		map[string]string{LabelWorld: world}, nil)}, opts)
	if apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("namespace %s exists and kong did not make it for world %s: choose another world name or --namespace-prefix", space.Control(), world)
	}
	if err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", space.Control(), err)
	}
	defer func() {
		if err != nil {
			if derr := Delete(context.WithoutCancel(ctx), cs, space); derr != nil && !errors.Is(derr, topology.ErrNotUp) {
				err = errors.Join(err, fmt.Errorf("removing what the failed create made: %w", derr))
			}
		}
	}()
	for _, r := range spec.Regions {
		ns := &corev1.Namespace{ObjectMeta: meta(space.Region(r.Name), "", map[string]string{LabelWorld: world, LabelRegion: r.Name}, nil)}
		Owned(&ns.ObjectMeta, control)
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, opts); err != nil {
			return nil, fmt.Errorf("creating namespace %s: %w", ns.Name, err)
		}
	}
	broadcast := map[string]netip.Addr{}
	for _, svc := range routers {
		made, err := cs.CoreV1().Services(svc.Namespace).Create(ctx, svc, opts)
		if err != nil {
			return nil, fmt.Errorf("creating Service %s/%s: %w", svc.Namespace, svc.Name, err)
		}
		ip, err := netip.ParseAddr(made.Spec.ClusterIP)
		if err != nil {
			return nil, fmt.Errorf("the link router Service %s/%s has no cluster IP (%q): its node's broadcast address needs one", svc.Namespace, svc.Name, made.Spec.ClusterIP)
		}
		broadcast[svc.Annotations[AnnotationID]] = ip
	}
	if l, err = NewLayout(space, secret, spec, broadcast); err != nil {
		return nil, err
	}
	o, err := Build(l, im)
	if err != nil {
		return nil, err
	}
	if err := o.create(ctx, cs); err != nil {
		return nil, err
	}
	return l, nil
}

// Delete removes the world from the cluster: its region namespaces and its
// control namespace, and so everything in them. Only namespaces kong made
// for this world (labelled with it, and named for it) are touched: a
// namespace of the same name that kong did not make is refused, not
// deleted. topology.ErrNotUp when there was nothing to remove.
func Delete(ctx context.Context, cs kubernetes.Interface, space Space) error {
	if err := space.Check(); err != nil {
		return err
	}
	world := space.World
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelWorld + "=" + world})
	if err != nil {
		return fmt.Errorf("listing the namespaces of world %s: %w", world, err)
	}
	control := space.Control()
	var names []string
	for _, ns := range list.Items {
		region := ns.Labels[LabelRegion]
		if ns.Name == control || region != "" && ns.Name == space.Region(region) {
			names = append(names, ns.Name)
		}
	}
	if len(names) == 0 {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, control, metav1.GetOptions{}); err == nil {
			return fmt.Errorf("namespace %s is not labelled %s=%s: kong did not make it, and leaves it alone", control, LabelWorld, world)
		}
		return topology.ErrNotUp
	}
	// Regions first, the owner last: each is gone even where no garbage
	// collector runs.
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(b, a) })
	var errs []error
	for _, name := range names {
		err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationForeground)})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting namespace %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Worlds lists the worlds on the cluster whose namespaces begin with
// prefix ("": DefaultPrefix): the control namespaces kong made.
func Worlds(ctx context.Context, cs kubernetes.Interface, prefix string) ([]string, error) {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelWorld})
	if err != nil {
		return nil, fmt.Errorf("listing kong's namespaces: %w", err)
	}
	var out []string
	for _, ns := range list.Items {
		w := ns.Labels[LabelWorld]
		if ns.Name == (Space{Prefix: prefix, World: w}).Control() && topology.CheckWorldName(w) == nil {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out, nil
}

// create makes the objects on the cluster in order: what a pod mounts,
// is reached by or runs as before the pods. It stops at the first that
// fails.
func (o *Objects) create(ctx context.Context, cs kubernetes.Interface) error {
	for _, step := range []func() error{
		func() error {
			return createAll(ctx, "NetworkPolicy", o.NetworkPolicies, cs.NetworkingV1().NetworkPolicies)
		},
		func() error { return createAll(ctx, "ConfigMap", o.ConfigMaps, cs.CoreV1().ConfigMaps) },
		func() error { return createAll(ctx, "Secret", o.Secrets, cs.CoreV1().Secrets) },
		func() error { return createAll(ctx, "Service", o.Services, cs.CoreV1().Services) },
		func() error { return createAll(ctx, "ServiceAccount", o.ServiceAccounts, cs.CoreV1().ServiceAccounts) },
		func() error { return createAll(ctx, "Role", o.Roles, cs.RbacV1().Roles) },
		func() error { return createAll(ctx, "RoleBinding", o.RoleBindings, cs.RbacV1().RoleBindings) },
		func() error {
			return createAll(ctx, "Deployment", append(o.Deployments, o.Healer), cs.AppsV1().Deployments)
		},
		func() error { return createAll(ctx, "StatefulSet", o.StatefulSets, cs.AppsV1().StatefulSets) },
		func() error { return createAll(ctx, "Job", []*batchv1.Job{o.Setup}, cs.BatchV1().Jobs) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// createAll creates objs in order, each through the client of its
// namespace, and names the first that fails.
func createAll[T metav1.Object, C interface {
	Create(context.Context, T, metav1.CreateOptions) (T, error)
}](ctx context.Context, kind string, objs []T, client func(namespace string) C) error {
	for _, x := range objs {
		if _, err := client(x.GetNamespace()).Create(ctx, x, metav1.CreateOptions{FieldManager: FieldManager}); err != nil {
			return fmt.Errorf("creating %s %s/%s: %w", kind, x.GetNamespace(), x.GetName(), err)
		}
	}
	return nil
}
