package kube

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/appconfig"
	"github.com/kongchaos/kong/topology/containers/images"
	"github.com/kongchaos/kong/topology/linkrouter"
	"github.com/kongchaos/kong/topology/probe"
)

// Paths in the pods: kong's files are mounted from the component's
// ConfigMap at confDir; a Cassandra node's are first rendered (its pod
// address written in) from templateDir into confDir, an emptyDir.
const (
	confDir          = "/etc/kong"
	templateDir      = "/etc/kong-template"
	cassandraDataDir = "/var/lib/cassandra"
	// outboxDir is a member service's outbox (member.Config.OutboxDir).
	outboxDir     = "/var/lib/kong/outbox"
	routesFile    = "routes.json"
	appConfigFile = "config.json"
	toxiproxyFile = "toxiproxy.json"
	sqsQueueFile  = "kong-queue.sh"
	setupFile     = "setup.json"
)

// Images are the images a world's pods run, by role (images.Roles): the
// official ones, or those `kong images build` made and the cluster can
// pull or has loaded.
type Images map[string]string

// DefaultImages are the official images (images.Official).
func DefaultImages() Images { return maps.Clone(images.Official) }

// ImagesFromEnv are the official images, each replaced by the one its
// role's variable names (images.Env: KONG_IMAGE, KONG_CASSANDRA_IMAGE and
// so on), as the container backend reads them: how a user points the
// pods at the images of kong images build, pushed to a registry the
// cluster pulls from.
func ImagesFromEnv() Images {
	im := DefaultImages()
	for role, name := range images.Env {
		if v := os.Getenv(name); v != "" {
			im[role] = v
		}
	}
	return im
}

// Objects are the objects of a world, each list in the order it is
// applied: the control namespace first (it owns the others), then the
// regions'; the ConfigMaps before the pods that mount them; the Services
// before the workloads behind them.
type Objects struct {
	Namespaces   []*corev1.Namespace
	ConfigMaps   []*corev1.ConfigMap
	Services     []*corev1.Service
	StatefulSets []*appsv1.StatefulSet
	// Deployments are the link routers: not components, never faulted.
	Deployments []*appsv1.Deployment
	// Secrets hold the files that carry the world's secret (the
	// application's configurations), and the secret itself (SecretName).
	Secrets []*corev1.Secret
	// NetworkPolicies fence each namespace of the world (fence).
	NetworkPolicies []*networkingv1.NetworkPolicy
	// The healer (addHealer): its identity, what it may do in each of
	// the world's namespaces, and its Deployment.
	ServiceAccounts []*corev1.ServiceAccount
	Roles           []*rbacv1.Role
	RoleBindings    []*rbacv1.RoleBinding
	Healer          *appsv1.Deployment
	// Setup is the Job that readies the Cassandra cluster once every node
	// runs (probe.Setup, from its ConfigMap): made last, done once.
	Setup *batchv1.Job
}

// RouterServices are the Services of the Cassandra nodes' link routers,
// made first: the cluster IP the API server gives each is its node's
// broadcast address (NewLayout), which the nodes' configurations and
// the routers' routes are written with.
func RouterServices(space Space, spec *topology.Spec) ([]*corev1.Service, error) {
	plan, err := topology.NewPlan(spec, 0)
	if err != nil {
		return nil, err
	}
	if err := checkNames(space, spec, plan); err != nil {
		return nil, err
	}
	var out []*corev1.Service
	for _, n := range plan.Cassandra {
		labels := worldLabels.OfRouter(space.World, n)
		out = append(out, &corev1.Service{
			ObjectMeta: meta(RouterName(n), space.Of(n.Component), labels, map[string]string{AnnotationID: n.ID}),
			Spec: corev1.ServiceSpec{
				Selector: labels,
				Ports:    []corev1.ServicePort{tcpPort("storage", spec.Ports.Storage)},
			},
		})
	}
	return out, nil
}

// Build lays out every object of a world but the routers' Services
// (RouterServices), running images im.
func Build(l *Layout, im Images) (*Objects, error) {
	for _, role := range images.Roles {
		if im[role] == "" {
			return nil, fmt.Errorf("no image for %s", role)
		}
	}
	p := l.Plan
	s := p.Spec
	o := &Objects{}
	control := &corev1.Namespace{ObjectMeta: meta(l.Control(), "", map[string]string{LabelWorld: l.World}, nil)}
	o.Namespaces = append(o.Namespaces, control)
	for _, r := range s.Regions {
		o.Namespaces = append(o.Namespaces, &corev1.Namespace{ObjectMeta: meta(l.Region(r.Name), "",
			map[string]string{LabelWorld: l.World, LabelRegion: r.Name}, nil)})
	}

	proxies, err := l.Proxies()
	if err != nil {
		return nil, err
	}
	toxPorts := []corev1.ServicePort{tcpPort("api", s.Ports.Toxiproxy)}
	for _, px := range proxies {
		_, port, _ := net.SplitHostPort(px.Listen)
		n, _ := strconv.Atoi(port)
		toxPorts = append(toxPorts, tcpPort("p"+port, n))
	}
	o.add(l, p.Toxiproxy, toxPorts, map[string][]byte{toxiproxyFile: mustJSON(proxies)}, corev1.Container{
		Image: im[images.RoleToxiproxy],
		Args:  []string{"-host=0.0.0.0", "-port=" + strconv.Itoa(s.Ports.Toxiproxy), "-config=" + confDir + "/" + toxiproxyFile},
	})

	for _, c := range p.SQS {
		queue := topology.InvalidationQueue(c.Region)
		ss := o.add(l, c, []corev1.ServicePort{tcpPort("sqs", sqsPort)}, map[string][]byte{sqsQueueFile: []byte(images.SQSQueueScript(c.Region, queue))}, corev1.Container{
			Image: im[images.RoleSQS],
			Env: env(map[string]string{"SERVICES": "sqs", "EAGER_SERVICE_LOADING": "1", "SQS_ENDPOINT_STRATEGY": "off",
				"LOCALSTACK_HOST": c.Address}),
		})
		// The image runs the queue's script once it answers, on every
		// start; the server is ready once the queue is listed.
		pod := &ss.Spec.Template.Spec
		pod.Volumes[0].ConfigMap.DefaultMode = ptr[int32](0o755)
		pod.Containers[0].VolumeMounts[0].MountPath = images.SQSInitDir
		pod.Containers[0].ReadinessProbe.ProbeHandler = corev1.ProbeHandler{Exec: &corev1.ExecAction{
			Command: []string{"sh", "-c", images.SQSHealthCommand(queue)}}}
	}
	for _, c := range p.Memcached {
		o.add(l, c, []corev1.ServicePort{tcpPort("memcached", s.Ports.Memcached)}, nil, corev1.Container{
			Image: im[images.RoleMemcached],
			Args: []string{"memcached", "-p", strconv.Itoa(s.Ports.Memcached), "-U", "0", "-m", strconv.Itoa(s.Memcached.MemoryMB),
				"-t", "2", "-c", "1024"},
		})
	}
	for _, n := range p.Cassandra {
		if err := o.addCassandra(l, n, im); err != nil {
			return nil, err
		}
	}
	app := func(c topology.Component, port int) error {
		var cfg []byte
		var err error
		if c.Kind == topology.KindMember {
			// Its outbox on a volume of its own: the configuration's
			// folder is read-only, and what it owes other regions must
			// outlive a kill (the pod's deletion).
			m := appconfig.Member(p, c)
			m.AdminSecret, m.OutboxDir = l.Secret, outboxDir
			cfg, err = json.MarshalIndent(m, "", "  ")
		} else {
			cfg, err = appconfig.File(p, c, l.Secret)
		}
		if err != nil {
			return err
		}
		ss := o.add(l, c, []corev1.ServicePort{tcpPort("http", port)}, map[string][]byte{appConfigFile: cfg}, corev1.Container{
			Image: im[images.RoleKong],
			Args:  []string{"serve", c.Kind, "--listen", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)), "--config", confDir + "/" + appConfigFile},
		})
		if c.Kind == topology.KindMember {
			keepClaim(ss, "outbox", outboxDir, "64Mi", worldLabels.Of(l.World, c))
		}
		o.seal(ss)
		return nil
	}
	for _, c := range p.Members {
		if err := app(c, s.Ports.Member); err != nil {
			return nil, err
		}
	}
	for _, g := range p.Gateways {
		if err := app(g, s.Ports.Gateway); err != nil {
			return nil, err
		}
	}
	if err := app(p.Director, s.Ports.Director); err != nil {
		return nil, err
	}
	o.addHealer(l, im)
	o.addRunner(l)
	o.addSetup(l, im)
	spec, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("the world's spec: %w", err)
	}
	o.Secrets = append(o.Secrets, &corev1.Secret{ObjectMeta: meta(SecretName, l.Control(), map[string]string{LabelWorld: l.World}, nil),
		Data: map[string][]byte{SecretKey: []byte(l.Secret), SpecKey: spec}})
	o.fence(l)
	return o, nil
}

// add lays out component c: a ConfigMap of its files (when it has any)
// mounted at confDir, a Service with ports and a cluster IP, and a StatefulSet of
// one replica running main.
func (o *Objects) add(l *Layout, c topology.Component, ports []corev1.ServicePort, files map[string][]byte, main corev1.Container) *appsv1.StatefulSet {
	ns, name, labels := l.Of(c), ObjectName(c), worldLabels.Of(l.World, c)
	main.Name = c.Kind
	for _, p := range ports {
		main.Ports = append(main.Ports, corev1.ContainerPort{Name: p.Name, ContainerPort: p.Port, Protocol: corev1.ProtocolTCP})
	}
	main.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(ports[0].Port)}},
		PeriodSeconds: 2}
	pod := corev1.PodSpec{
		// The server is not its container's PID 1, so that a pause
		// (SIGSTOP through exec) reaches it: a namespace's init ignores
		// the signal.
		ShareProcessNamespace: ptr(true),
		Containers:            []corev1.Container{main},
		Affinity:              zoneAffinity(c.Zone),
	}
	if len(files) > 0 {
		o.ConfigMaps = append(o.ConfigMaps, &corev1.ConfigMap{ObjectMeta: meta(name, ns, labels, nil), BinaryData: files})
		pod.Volumes = append(pod.Volumes, configVolume("conf", name))
		pod.Containers[0].VolumeMounts = append(pod.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "conf", MountPath: confDir, ReadOnly: true})
	}
	o.Services = append(o.Services, &corev1.Service{
		ObjectMeta: meta(name, ns, labels, nil),
		// A cluster IP, stable across the pod's restarts: the name
		// resolves to it inside the cluster, and a machine that routes
		// the cluster's Services (a node's host) reaches it too.
		Spec: corev1.ServiceSpec{
			Selector: selector(l.World, c),
			Ports:    ports,
			// A starting node is reached before it is Ready (Cassandra's
			// peers, the setup): readiness only says when it answers.
			PublishNotReadyAddresses: true,
		},
	})
	ss := &appsv1.StatefulSet{
		ObjectMeta: meta(name, ns, labels, map[string]string{AnnotationID: c.ID, AnnotationReplicas: "1"}),
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr[int32](1),
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: selector(l.World, c)},
			// Start and stop at once: kong orders the starts itself.
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{AnnotationID: c.ID}},
				Spec:       pod,
			},
		},
	}
	o.StatefulSets = append(o.StatefulSets, ss)
	return ss
}

// addCassandra lays out node n: its StatefulSet (with a volume for its
// data that outlives its pod), and its link router.
func (o *Objects) addCassandra(l *Layout, n topology.CassandraNode, im Images) error {
	p, s := l.Plan, l.Plan.Spec
	cfg := p.CassandraConfig(n, topology.CassandraSite{World: l.World, ConfDir: confDir, DataDir: cassandraDataDir, RPCAddress: "0.0.0.0"})
	files := map[string][]byte{topology.CassandraYAMLFile: []byte(cfg.YAML), topology.CassandraRackDCFile: []byte(cfg.RackDC)}
	ports := []corev1.ServicePort{tcpPort("cql", s.Ports.CQL), tcpPort("storage", s.Ports.Storage)}
	ss := o.add(l, n.Component, ports, files, corev1.Container{
		Image: im[images.RoleCassandra],
		Env: append(env(map[string]string{
			"MAX_HEAP_SIZE":  s.Cassandra.Heap,
			"HEAP_NEWSIZE":   "64M",
			"JVM_OPTS":       strings.Join(append(cfg.Props, "-Dcassandra.initial_token="+n.Token, "-XX:TieredStopAtLevel=1"), " "),
			"CASSANDRA_DC":   n.Region,
			"CASSANDRA_RACK": n.Zone,
		}), podIPEnv()),
	})
	pod := &ss.Spec.Template.Spec
	// The ConfigMap holds templates: an init container writes the pod's
	// address into them, into confDir.
	pod.Volumes[0].Name = "template"
	main := &pod.Containers[0]
	main.VolumeMounts = []corev1.VolumeMount{{Name: "conf", MountPath: confDir}, {Name: "data", MountPath: cassandraDataDir}}
	main.ReadinessProbe.ProbeHandler.TCPSocket.Port = intstr.FromInt32(int32(s.Ports.CQL))
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "conf", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	pod.InitContainers = []corev1.Container{{
		Name:  "render",
		Image: im[images.RoleCassandra],
		Command: []string{"sh", "-c", fmt.Sprintf(`set -eu; for f in %[1]s %[2]s; do sed "s/%[3]s/$POD_IP/g" %[4]s/$f > %[5]s/$f; done`,
			topology.CassandraYAMLFile, topology.CassandraRackDCFile, PodIP, templateDir, confDir)},
		Env:          []corev1.EnvVar{podIPEnv()},
		VolumeMounts: []corev1.VolumeMount{{Name: "template", MountPath: templateDir, ReadOnly: true}, {Name: "conf", MountPath: confDir}},
	}}
	keepClaim(ss, "data", "", "2Gi", worldLabels.Of(l.World, n.Component))

	route, err := l.Route(n)
	if err != nil {
		return err
	}
	ns, name, labels := l.Of(n.Component), RouterName(n), worldLabels.OfRouter(l.World, n)
	o.ConfigMaps = append(o.ConfigMaps, &corev1.ConfigMap{ObjectMeta: meta(name, ns, labels, nil),
		BinaryData: map[string][]byte{routesFile: mustJSON([]linkrouter.Route{route})}})
	o.Deployments = append(o.Deployments, deployment(name, ns, labels, corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: KindLinkRouter, Image: im[images.RoleKong],
			Args:         []string{"serve", "link-router", "--routes", confDir + "/" + routesFile},
			Ports:        []corev1.ContainerPort{{Name: "storage", ContainerPort: int32(s.Ports.Storage), Protocol: corev1.ProtocolTCP}},
			VolumeMounts: []corev1.VolumeMount{{Name: "conf", MountPath: confDir, ReadOnly: true}},
		}},
		Volumes: []corev1.Volume{configVolume("conf", name)},
	}))
	return nil
}

// SecretName names the Secret, in the control namespace, that holds the
// world's secret (at SecretKey): what steers the world's servers; and the
// spec it was built from (at SpecKey, JSON), from which any kong rebuilds
// its plan.
const (
	SecretName = "kong-world"
	SecretKey  = "secret"
	SpecKey    = "spec.json"
)

// seal moves the files of ss's ConfigMap (the last made) into a Secret of
// the same name: they carry the world's secret, which RBAC then guards as
// it guards every Secret.
func (o *Objects) seal(ss *appsv1.StatefulSet) {
	cm := o.ConfigMaps[len(o.ConfigMaps)-1]
	o.ConfigMaps = o.ConfigMaps[:len(o.ConfigMaps)-1]
	o.Secrets = append(o.Secrets, &corev1.Secret{ObjectMeta: cm.ObjectMeta, Data: cm.BinaryData})
	for i, v := range ss.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			ss.Spec.Template.Spec.Volumes[i].VolumeSource = corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: cm.Name}}
		}
	}
}

// fence gives each namespace of the world a NetworkPolicy that admits
// traffic from the world's own namespaces only, and a region's from its
// own namespace and the control namespace (toxiproxy's links, the
// director, the setup), its link routers from every namespace of the
// world: a region's server reached from another region without crossing
// a link is refused, where the cluster's network enforces NetworkPolicy. It is a fence, never the partition: the links
// cut and slow traffic, whatever the network does to open connections.
func (o *Objects) fence(l *Layout) {
	control := l.Control()
	from := func(namespaces ...string) []networkingv1.NetworkPolicyPeer {
		var peers []networkingv1.NetworkPolicyPeer
		for _, ns := range namespaces {
			peers = append(peers, networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}})
		}
		return peers
	}
	policy := func(name, ns string, pods map[string]string, peers []networkingv1.NetworkPolicyPeer) {
		o.NetworkPolicies = append(o.NetworkPolicies, &networkingv1.NetworkPolicy{
			ObjectMeta: meta(name, ns, map[string]string{LabelWorld: l.World}, nil),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: pods},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: peers}},
			},
		})
	}
	all := []string{control}
	for _, r := range l.Plan.Spec.Regions {
		all = append(all, l.Region(r.Name))
	}
	for _, ns := range all[1:] {
		policy(FenceName, ns, nil, from(ns, control))
		// The link routers are the links' way in: a node of any region
		// dials its peer's router, which sends what crosses regions
		// through toxiproxy (policies add up: this admits more to them).
		policy(FenceName+"-links", ns, map[string]string{LabelKind: KindLinkRouter}, from(all...))
	}
	policy(FenceName, control, nil, from(all...))
}

// FenceName names the world's NetworkPolicies.
const FenceName = "kong-fence"

// SetupName names the setup Job and its ConfigMap.
const SetupName = "kong-setup"

// KindSetup labels the setup's objects (LabelKind).
const KindSetup = "setup"

// addSetup lays out the setup Job, in the control namespace: inside the
// cluster, it waits until every node answers CQL and sees its peers,
// creates the keyspaces and tables, and ends when every node sees every
// node UP (`kong serve world-setup`, as the compose file's setup does).
func (o *Objects) addSetup(l *Layout, im Images) {
	control := l.Control()
	labels := map[string]string{LabelWorld: l.World, LabelKind: KindSetup}
	o.ConfigMaps = append(o.ConfigMaps, &corev1.ConfigMap{ObjectMeta: meta(SetupName, control, labels, nil),
		BinaryData: map[string][]byte{setupFile: mustJSON(probe.SetupOf(l.Plan))}})
	o.Setup = &batchv1.Job{
		ObjectMeta: meta(SetupName, control, labels, nil),
		Spec: batchv1.JobSpec{
			// world-setup retries each step itself until its deadline; a
			// pod that dies (its node was lost) is tried again.
			BackoffLimit: ptr[int32](3),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name: KindSetup, Image: im[images.RoleKong],
						Args:         []string{"serve", "world-setup", "--config", confDir + "/" + setupFile},
						VolumeMounts: []corev1.VolumeMount{{Name: "conf", MountPath: confDir, ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{configVolume("conf", SetupName)},
				},
			},
		},
	}
}

// zoneAffinity asks the scheduler to put a component of zone on a node of
// the cluster's zone of the same name, when the cluster has one: then a
// zone outage of the world is one of the cluster too. On a cluster whose
// zones are named otherwise, the pods go wherever they fit.
func zoneAffinity(zone string) *corev1.Affinity {
	if zone == "" {
		return nil
	}
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
			Weight: 100,
			Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{zone}}}},
		}},
	}}
}

// Owned makes dependent an object of owner: deleting owner (the world's
// control namespace, which is cluster-scoped) deletes it.
func Owned(dependent *metav1.ObjectMeta, owner *corev1.Namespace) {
	dependent.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "Namespace", Name: owner.Name, UID: owner.UID,
		BlockOwnerDeletion: ptr(true),
	}}
}

func meta(name, ns string, labels, annotations map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: maps.Clone(labels), Annotations: annotations}
}

// selector picks the pods of component c.
func selector(world string, c topology.Component) map[string]string {
	return map[string]string{LabelWorld: world, LabelComponent: LabelValue(c.ID)}
}

func tcpPort(name string, port int) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: int32(port), TargetPort: intstr.FromInt(port), Protocol: corev1.ProtocolTCP}
}

// keepClaim gives ss a volume claim of size named name, mounted at dir in
// its first container (unless dir is ""): a stopped or killed component
// keeps it (scaled to 0, its claim stays); the world's removal takes it.
func keepClaim(ss *appsv1.StatefulSet, name, dir, size string, labels map[string]string) {
	ss.Spec.VolumeClaimTemplates = append(ss.Spec.VolumeClaimTemplates, corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	})
	if dir != "" {
		c := &ss.Spec.Template.Spec.Containers[0]
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: dir})
	}
	ss.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType}
}

func configVolume(name, configMap string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: configMap}}}}
}

// env is m as environment variables, in name order.
func env(m map[string]string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, corev1.EnvVar{Name: k, Value: m[k]})
	}
	return out
}

// podIPEnv is POD_IP, the pod's address.
func podIPEnv() corev1.EnvVar {
	return corev1.EnvVar{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	return b
}

func ptr[T any](v T) *T { return &v }
