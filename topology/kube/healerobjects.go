package kube

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kongchaos/kong/topology/containers/images"
)

// HealerName names the healer's Deployment, ServiceAccount, Roles and
// RoleBindings.
const HealerName = "kong-healer"

// KindHealer labels the healer's objects (LabelKind).
const KindHealer = "healer"

// healerEvery is how often the healer reads the run lease.
const healerEvery = "5s"

// HealerRules are what the healer may do in each of its world's
// namespaces, and nothing more: read and renew nothing but the lease,
// scale the components back, delete no pod, exec to resume a paused one.
var HealerRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, Verbs: []string{"get", "list", "patch"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
	{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create", "get"}},
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{LeaseName}, Verbs: []string{"get", "update"}},
}

// addHealer lays out the world's healer: its ServiceAccount in the control
// namespace, a Role and RoleBinding in each namespace of the world, and a
// Deployment of one pod running `kong heal --watch` inside the cluster.
func (o *Objects) addHealer(l *Layout, im Images) {
	control := l.Control()
	labels := map[string]string{LabelWorld: l.World, LabelKind: KindHealer}
	o.addAccount(l, HealerName, labels, HealerRules)
	regions := l.Plan.Spec.RegionNames()
	o.Healer = deployment(HealerName, control, labels, corev1.PodSpec{
		ServiceAccountName: HealerName,
		Containers: []corev1.Container{{
			Name: KindHealer, Image: im[images.RoleKong],
			Args: []string{"heal", "--backend", "kubernetes", "--in-cluster", "--watch", healerEvery,
				"--world", l.World, "--namespace-prefix", l.prefix(), "--regions", strings.Join(regions, ","), "--toxiproxy", l.Plan.Toxiproxy.Address},
		}},
	})
}

// deployment is a Deployment of one pod of spec, called name in namespace
// ns, its pods labelled (and selected) by labels.
func deployment(name, ns string, labels map[string]string, spec corev1.PodSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: meta(name, ns, labels, nil),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
}

// addAccount lays out a ServiceAccount called name in the world's control
// namespace, and in each namespace of the world a Role of rules bound to
// it: what it may do, in the world alone.
func (o *Objects) addAccount(l *Layout, name string, labels map[string]string, rules []rbacv1.PolicyRule) {
	control := l.Control()
	o.ServiceAccounts = append(o.ServiceAccounts, &corev1.ServiceAccount{ObjectMeta: meta(name, control, labels, nil)})
	namespaces := []string{control}
	for _, r := range l.Plan.Spec.Regions {
		namespaces = append(namespaces, l.Region(r.Name))
	}
	for _, ns := range namespaces {
		o.Roles = append(o.Roles, &rbacv1.Role{ObjectMeta: meta(name, ns, labels, nil), Rules: rules})
		o.RoleBindings = append(o.RoleBindings, &rbacv1.RoleBinding{
			ObjectMeta: meta(name, ns, labels, nil),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: control}},
		})
	}
}
