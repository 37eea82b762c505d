package kube

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kongchaos/kong/topology"
)

// FieldManager is the name kong's changes carry on the cluster.
const FieldManager = "kong"

// Create makes every object of world on the cluster: the control
// namespace, the region namespaces it owns, the routers' Services (whose
// cluster IPs become the nodes' broadcast addresses), then the
// ConfigMaps, Services, routers and components. It does not wait for the
// pods. A failed create removes what it made. A world that exists already
// is refused: Delete it first.
func Create(ctx context.Context, cs kubernetes.Interface, world, secret string, spec *topology.Spec, im Images) (l *Layout, err error) {
	routers, err := RouterServices(world, spec)
	if err != nil {
		return nil, err
	}
	opts := metav1.CreateOptions{FieldManager: FieldManager}
	control, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: meta(ControlNamespace(world), "",
		map[string]string{LabelWorld: world}, nil)}, opts)
	if apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("namespace %s exists: world %s is up, or was not removed (kong down --world %s --backend kubernetes)", ControlNamespace(world), world, world)
	}
	if err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", ControlNamespace(world), err)
	}
	defer func() {
		if err != nil {
			if derr := Delete(context.WithoutCancel(ctx), cs, world); derr != nil && !errors.Is(derr, topology.ErrNotUp) {
				err = errors.Join(err, fmt.Errorf("removing what the failed create made: %w", derr))
			}
		}
	}()
	for _, r := range spec.Regions {
		ns := &corev1.Namespace{ObjectMeta: meta(RegionNamespace(world, r.Name), "", map[string]string{LabelWorld: world, LabelRegion: r.Name}, nil)}
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
	if l, err = NewLayout(world, secret, spec, broadcast); err != nil {
		return nil, err
	}
	o, err := Build(l, im)
	if err != nil {
		return nil, err
	}
	for _, cm := range o.ConfigMaps {
		if _, err := cs.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, opts); err != nil {
			return nil, fmt.Errorf("creating ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
		}
	}
	for _, svc := range o.Services {
		if _, err := cs.CoreV1().Services(svc.Namespace).Create(ctx, svc, opts); err != nil {
			return nil, fmt.Errorf("creating Service %s/%s: %w", svc.Namespace, svc.Name, err)
		}
	}
	for _, sa := range o.ServiceAccounts {
		if _, err := cs.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, opts); err != nil {
			return nil, fmt.Errorf("creating ServiceAccount %s/%s: %w", sa.Namespace, sa.Name, err)
		}
	}
	for _, r := range o.Roles {
		if _, err := cs.RbacV1().Roles(r.Namespace).Create(ctx, r, opts); err != nil {
			return nil, fmt.Errorf("creating Role %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	for _, b := range o.RoleBindings {
		if _, err := cs.RbacV1().RoleBindings(b.Namespace).Create(ctx, b, opts); err != nil {
			return nil, fmt.Errorf("creating RoleBinding %s/%s: %w", b.Namespace, b.Name, err)
		}
	}
	for _, d := range append(o.Deployments, o.Healer) {
		if _, err := cs.AppsV1().Deployments(d.Namespace).Create(ctx, d, opts); err != nil {
			return nil, fmt.Errorf("creating Deployment %s/%s: %w", d.Namespace, d.Name, err)
		}
	}
	for _, ss := range o.StatefulSets {
		if _, err := cs.AppsV1().StatefulSets(ss.Namespace).Create(ctx, ss, opts); err != nil {
			return nil, fmt.Errorf("creating StatefulSet %s/%s: %w", ss.Namespace, ss.Name, err)
		}
	}
	return l, nil
}

// Delete removes world from the cluster: its region namespaces and its
// control namespace, and so everything in them. Only namespaces kong made
// for this world (labelled with it, and named for it) are touched: a
// namespace of the same name that kong did not make is refused, not
// deleted. topology.ErrNotUp when there was nothing to remove.
func Delete(ctx context.Context, cs kubernetes.Interface, world string) error {
	if err := topology.CheckWorldName(world); err != nil {
		return err
	}
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelWorld + "=" + world})
	if err != nil {
		return fmt.Errorf("listing the namespaces of world %s: %w", world, err)
	}
	control := ControlNamespace(world)
	var names []string
	for _, ns := range list.Items {
		region := ns.Labels[LabelRegion]
		if ns.Name == control || region != "" && ns.Name == RegionNamespace(world, region) {
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

// Worlds lists the worlds on the cluster: the control namespaces kong
// made.
func Worlds(ctx context.Context, cs kubernetes.Interface) ([]string, error) {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelWorld})
	if err != nil {
		return nil, fmt.Errorf("listing kong's namespaces: %w", err)
	}
	var out []string
	for _, ns := range list.Items {
		w := ns.Labels[LabelWorld]
		if ns.Name == ControlNamespace(w) && topology.CheckWorldName(w) == nil {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out, nil
}
