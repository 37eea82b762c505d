package kube

import (
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers/images"
	"github.com/kongchaos/kong/topology/linkrouter"
	"github.com/kongchaos/kong/topology/probe"
)

// layout lays the profile out as world w, its routers' Services at
// 10.96.0.(10+i).
func layout(t *testing.T, w, profile string) *Layout {
	t.Helper()
	spec, err := topology.Profile(profile)
	require.NoError(t, err)
	svcs, err := RouterServices(Space{World: w}, spec)
	require.NoError(t, err)
	plan, err := topology.NewPlan(spec, 0)
	require.NoError(t, err)
	require.Len(t, svcs, len(plan.Cassandra), "one router Service a node")
	broadcast := map[string]netip.Addr{}
	for i, n := range plan.Cassandra {
		broadcast[n.ID] = netip.AddrFrom4([4]byte{10, 96, 0, byte(10 + i)})
	}
	l, err := NewLayout(Space{World: w}, "s3cret", spec, broadcast)
	require.NoError(t, err)
	return l
}

// Every component is reached at its Service in its region's namespace (or
// the control namespace), and every Cassandra node broadcasts its router's
// cluster IP; links go through toxiproxy's Service.
func TestLayoutAddressesAreTheWorldsServices(t *testing.T) {
	l := layout(t, "w1", "default")
	for _, c := range l.Plan.Components() {
		host, _, err := net.SplitHostPort(c.Address)
		require.NoError(t, err, c.ID)
		require.Equal(t, ObjectName(c)+"."+Space{World: "w1"}.Of(c)+".svc", host, c.ID)
		if c.Region != "" {
			require.Equal(t, "kong-w1-"+c.Region, Space{World: "w1"}.Of(c))
		} else {
			require.Equal(t, "kong-w1", Space{World: "w1"}.Of(c))
		}
		require.Empty(t, validation.IsDNS1123Label(ObjectName(c)), c.ID)
	}
	tox := "toxiproxy.kong-w1.svc:"
	seen := map[string]bool{}
	for i, n := range l.Plan.Cassandra {
		require.Equal(t, netip.AddrFrom4([4]byte{10, 96, 0, byte(10 + i)}).String(), n.Broadcast)
		require.Len(t, n.LinkProxies, len(l.Plan.Spec.Regions)-1)
		for from, addr := range n.LinkProxies {
			require.NotEqual(t, n.Region, from)
			require.True(t, strings.HasPrefix(addr, tox), addr)
			require.False(t, seen[addr], "two links share %s", addr)
			seen[addr] = true
		}
	}
	for _, addr := range l.Plan.SQSLinks {
		require.True(t, strings.HasPrefix(addr, tox), addr)
		require.False(t, seen[addr], "two links share %s", addr)
		seen[addr] = true
	}
}

func TestLayoutRefusesWhatKubernetesCannotName(t *testing.T) {
	spec, err := topology.Profile("default")
	require.NoError(t, err)
	_, err = NewLayout(Space{World: "w1"}, "", spec, nil)
	require.ErrorContains(t, err, "no broadcast address for Cassandra node")

	long := strings.Repeat("w", topology.MaxWorldName)
	_, err = RouterServices(Space{World: long}, spec)
	require.NoError(t, err, "the longest world name fits with the default regions")
	spec.Regions[0].Name = "ap-southeast-12345"
	_, err = RouterServices(Space{World: long}, spec)
	require.ErrorContains(t, err, "choose a shorter world name")
	_, err = RouterServices(Space{World: "../etc"}, spec)
	require.ErrorIs(t, err, topology.ErrWorldName)
}

// Build gives each component a StatefulSet of one replica and a Service
// with a cluster IP (stable across its pod's restarts) of the same name in the same namespace, whose selector picks its
// pods and no other's; every ConfigMap a pod mounts exists.
func TestBuildLaysEveryComponentOut(t *testing.T) {
	l := layout(t, "w1", "default")
	o, err := Build(l, DefaultImages())
	require.NoError(t, err)
	comps := l.Plan.Components()
	require.Len(t, o.StatefulSets, len(comps))
	require.Len(t, o.Services, len(comps))
	require.Len(t, o.Deployments, len(l.Plan.Cassandra), "a link router a node")
	require.Len(t, o.Namespaces, 1+len(l.Plan.Spec.Regions))

	configMaps := map[string]bool{}
	for _, cm := range o.ConfigMaps {
		configMaps[cm.Namespace+"/"+cm.Name] = true
	}
	byID := map[string]int{}
	for i, ss := range o.StatefulSets {
		byID[ss.Annotations[AnnotationID]] = i
	}
	for _, c := range comps {
		i, ok := byID[c.ID]
		require.True(t, ok, "no StatefulSet for %s", c.ID)
		ss, svc := o.StatefulSets[i], o.Services[i]
		require.Equal(t, ObjectName(c), ss.Name)
		require.Equal(t, Space{World: "w1"}.Of(c), ss.Namespace)
		require.Equal(t, ss.Name, svc.Name)
		require.Equal(t, ss.Namespace, svc.Namespace)
		require.Empty(t, svc.Spec.ClusterIP, "%s: the API server gives the Service a cluster IP", c.ID)
		require.True(t, svc.Spec.PublishNotReadyAddresses, "%s: reached before it is Ready", c.ID)
		require.EqualValues(t, 1, *ss.Spec.Replicas)
		require.Equal(t, "1", ss.Annotations[AnnotationReplicas])
		require.True(t, *ss.Spec.Template.Spec.ShareProcessNamespace, "%s: a pause must reach its server", c.ID)
		pods := labels.Set(ss.Spec.Template.Labels)
		require.True(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(pods), c.ID)
		require.True(t, labels.SelectorFromSet(ss.Spec.Selector.MatchLabels).Matches(pods), c.ID)
		sel, err := labels.Parse(ComponentSelector("w1", c.ID))
		require.NoError(t, err)
		require.True(t, sel.Matches(pods), c.ID)
		for j, other := range o.StatefulSets {
			if j != i {
				require.False(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(other.Spec.Template.Labels)),
					"the Service of %s selects %s", c.ID, other.Name)
			}
		}
		for _, v := range ss.Spec.Template.Spec.Volumes {
			if v.ConfigMap != nil {
				require.True(t, configMaps[ss.Namespace+"/"+v.ConfigMap.Name], "%s mounts a missing ConfigMap %s", c.ID, v.ConfigMap.Name)
			}
		}
		if c.Zone != "" {
			sel, err := labels.Parse(ZoneSelector("w1", c.Region, c.Zone))
			require.NoError(t, err)
			require.True(t, sel.Matches(pods), "%s is not in its zone's selector", c.ID)
		}
		if c.Kind == topology.KindMember {
			// The outbox outlives a kill, on a claim of its own (the
			// configuration's folder is read-only).
			require.Len(t, ss.Spec.VolumeClaimTemplates, 1, c.ID)
			require.Equal(t, "outbox", ss.Spec.VolumeClaimTemplates[0].Name)
			require.Contains(t, ss.Spec.Template.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "outbox", MountPath: outboxDir})
			var sec *corev1.Secret
			for _, s := range o.Secrets {
				if s.Namespace == ss.Namespace && s.Name == ss.Name {
					sec = s
				}
			}
			require.NotNil(t, sec, "%s: no Secret with its configuration", c.ID)
			var cfg member.Config
			require.NoError(t, json.Unmarshal(sec.Data[appConfigFile], &cfg))
			require.Equal(t, outboxDir, cfg.OutboxDir)
			require.Equal(t, l.Secret, cfg.AdminSecret)
		}
	}
}

// A Cassandra node is configured with its pod's address (written in when
// it starts) as its listen address and its router's cluster IP as its
// broadcast address, keeps its data in a claim that outlives a kill, and
// its router sends each region's connections through that region's
// proxy.
func TestBuildCassandraNodesBroadcastAtTheirRouters(t *testing.T) {
	l := layout(t, "w1", "default")
	o, err := Build(l, DefaultImages())
	require.NoError(t, err)
	region := map[string]string{} // broadcast IP -> region
	for _, n := range l.Plan.Cassandra {
		region[n.Broadcast] = n.Region
	}
	for _, n := range l.Plan.Cassandra {
		var cm, routes *corev1.ConfigMap
		for _, c := range o.ConfigMaps {
			switch {
			case c.Name == ObjectName(n.Component) && c.Namespace == Space{World: "w1"}.Of(n.Component):
				cm = c
			case c.Name == RouterName(n) && c.Namespace == Space{World: "w1"}.Of(n.Component):
				routes = c
			}
		}
		require.NotNil(t, cm, n.ID)
		yaml := string(cm.BinaryData[topology.CassandraYAMLFile])
		require.Contains(t, yaml, "listen_address: "+PodIP+"\n", n.ID)
		require.Contains(t, yaml, "broadcast_address: "+n.Broadcast+"\n", n.ID)

		var ss = o.StatefulSets[0]
		for _, s := range o.StatefulSets {
			if s.Annotations[AnnotationID] == n.ID {
				ss = s
			}
		}
		require.Equal(t, n.ID, ss.Annotations[AnnotationID])
		require.Len(t, ss.Spec.Template.Spec.InitContainers, 1, "the render step")
		require.Contains(t, ss.Spec.Template.Spec.InitContainers[0].Command[2], PodIP)
		require.Len(t, ss.Spec.VolumeClaimTemplates, 1)
		require.Equal(t, "Retain", string(ss.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled), "a killed node keeps its data")

		require.NotNil(t, routes, n.ID)
		var rs []linkrouter.Route
		require.NoError(t, json.Unmarshal(routes.BinaryData[routesFile], &rs))
		require.Len(t, rs, 1)
		require.Len(t, rs[0].BySource, len(l.Plan.Cassandra))
		for ip, to := range rs[0].BySource {
			if region[ip] == n.Region {
				require.Equal(t, n.Extra["storage"], to, "%s: a peer of its region goes straight to it", n.ID)
			} else {
				require.Equal(t, n.LinkProxies[region[ip]], to, "%s: a peer of %s goes through its proxy", n.ID, region[ip])
			}
		}
	}
}

// toxiproxy's Service carries its API and every link's port, each proxy
// listening on every address of its pod.
func TestBuildToxiproxyServesEveryLink(t *testing.T) {
	l := layout(t, "w1", "global")
	o, err := Build(l, DefaultImages())
	require.NoError(t, err)
	var svc *corev1.Service
	for _, s := range o.Services {
		if s.Name == "toxiproxy" {
			svc = s
		}
	}
	require.NotNil(t, svc)
	ports := map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		require.False(t, ports[p.Port], "port %d twice", p.Port)
		ports[p.Port] = true
	}
	proxies, err := l.Proxies()
	require.NoError(t, err)
	require.Len(t, svc.Spec.Ports, 1+len(proxies))
	for _, p := range proxies {
		host, port, err := net.SplitHostPort(p.Listen)
		require.NoError(t, err)
		require.Equal(t, "0.0.0.0", host)
		var n int32
		for _, sp := range svc.Spec.Ports {
			if sp.Name == "p"+port {
				n = sp.Port
			}
		}
		require.NotZero(t, n, "proxy %s's port %s is not on the Service", p.Name, port)
	}
}

func TestBuildNeedsEveryImage(t *testing.T) {
	l := layout(t, "w1", "small")
	im := DefaultImages()
	delete(im, images.RoleKong)
	_, err := Build(l, im)
	require.ErrorContains(t, err, "no image for kong")
}

// The objects beyond the components: each zone's component prefers its
// zone's nodes; each region's SQS server creates its queue and is ready
// once it lists it; the setup Job reads the plan's Cassandra nodes; the
// healer may scale and exec in the world's namespaces and nothing more
// (no pod deletion, no other lease).
func TestBuildSetupHealerAndZones(t *testing.T) {
	l := layout(t, "w1", "default")
	o, err := Build(l, DefaultImages())
	require.NoError(t, err)
	for _, ss := range o.StatefulSets {
		zone := ss.Labels[LabelZone]
		aff := ss.Spec.Template.Spec.Affinity
		if zone == "" {
			require.Nil(t, aff, ss.Name)
			continue
		}
		terms := aff.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		require.Len(t, terms, 1, ss.Name)
		require.Equal(t, []string{zone}, terms[0].Preference.MatchExpressions[0].Values, ss.Name)
		require.Equal(t, corev1.LabelTopologyZone, terms[0].Preference.MatchExpressions[0].Key)
	}
	sqs := 0
	for _, ss := range o.StatefulSets {
		if ss.Labels[LabelKind] != topology.KindSQS {
			continue
		}
		sqs++
		c := ss.Spec.Template.Spec.Containers[0]
		require.Equal(t, images.SQSInitDir, c.VolumeMounts[0].MountPath)
		queue := topology.InvalidationQueue(ss.Labels[LabelRegion])
		require.Contains(t, strings.Join(c.ReadinessProbe.Exec.Command, " "), queue)
		var script string
		for _, cm := range o.ConfigMaps {
			if cm.Namespace == ss.Namespace && cm.Name == ss.Name {
				script = string(cm.BinaryData[sqsQueueFile])
			}
		}
		require.Contains(t, script, `"QueueName":"`+queue+`"`)
	}
	require.Equal(t, 2, sqs)

	require.Equal(t, Space{World: "w1"}.Control(), o.Setup.Namespace)
	var setup probe.Setup
	for _, cm := range o.ConfigMaps {
		if cm.Name == SetupName {
			require.NoError(t, json.Unmarshal(cm.BinaryData[setupFile], &setup))
		}
	}
	require.Len(t, setup.Nodes, len(l.Plan.Cassandra))
	require.Equal(t, l.Plan.Cassandra[0].Address, setup.Nodes[0].CQL)

	require.Len(t, o.Roles, 6, "the healer's and the runner's, in the control namespace and each region's")
	require.Len(t, o.RoleBindings, 6)
	for _, r := range o.Roles {
		if r.Name != HealerName {
			continue
		}
		for _, rule := range r.Rules {
			require.NotContains(t, rule.Verbs, "delete", "the healer deletes nothing")
			require.NotContains(t, rule.Resources, "*")
			if slices.Contains(rule.Resources, "leases") {
				require.Equal(t, []string{LeaseName}, rule.ResourceNames)
			}
		}
	}
	args := strings.Join(o.Healer.Spec.Template.Spec.Containers[0].Args, " ")
	require.Contains(t, args, "heal --backend kubernetes --in-cluster --watch")
	require.Contains(t, args, "--regions us-east-1,us-west-2")
	require.Contains(t, args, "--namespace-prefix kong-", "the healer finds the namespaces of its world")
	require.Equal(t, HealerName, o.Healer.Spec.Template.Spec.ServiceAccountName)

	// The world's secret is in Secrets only: the world's own, and the
	// application's configurations, which the pods mount from them.
	for _, cm := range o.ConfigMaps {
		for name, b := range cm.BinaryData {
			require.NotContains(t, string(b), l.Secret, "ConfigMap %s/%s file %s holds the world's secret", cm.Namespace, cm.Name, name)
		}
	}
	secrets := map[string]bool{}
	for _, sec := range o.Secrets {
		secrets[sec.Namespace+"/"+sec.Name] = true
	}
	require.True(t, secrets[Space{World: "w1"}.Control()+"/"+SecretName])
	sealed := 0
	for _, ss := range o.StatefulSets {
		for _, v := range ss.Spec.Template.Spec.Volumes {
			if v.Secret != nil {
				require.True(t, secrets[ss.Namespace+"/"+v.Secret.SecretName], "%s mounts a Secret that is not made", ss.Name)
				sealed++
			}
		}
	}
	require.Equal(t, len(l.Plan.Members)+len(l.Plan.Gateways)+1, sealed, "every member, gateway and the director")

	// The fence: a region admits its own namespace and the control one,
	// its link routers every namespace of the world.
	require.Len(t, o.NetworkPolicies, 5)
	world := []string{"kong-w1", "kong-w1-us-east-1", "kong-w1-us-west-2"}
	for _, np := range o.NetworkPolicies {
		var from []string
		for _, peer := range np.Spec.Ingress[0].From {
			from = append(from, peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"])
		}
		switch {
		case np.Namespace == Space{World: "w1"}.Control():
			require.ElementsMatch(t, world, from)
			require.Empty(t, np.Spec.PodSelector.MatchLabels, "every pod of the namespace")
		case np.Name == FenceName+"-links":
			require.ElementsMatch(t, world, from)
			require.Equal(t, map[string]string{LabelKind: KindLinkRouter}, np.Spec.PodSelector.MatchLabels)
		default:
			require.Equal(t, FenceName, np.Name)
			require.ElementsMatch(t, []string{np.Namespace, "kong-w1"}, from)
			require.Empty(t, np.Spec.PodSelector.MatchLabels, "every pod of the namespace")
		}
	}
}

// The pods run the official images unless a role's variable names
// another (kong images build's, pushed to a registry).
func TestImagesFromEnv(t *testing.T) {
	for _, name := range images.Env {
		t.Setenv(name, "")
	}
	require.Equal(t, DefaultImages(), ImagesFromEnv())
	t.Setenv(images.Env[images.RoleMemcached], "registry.example/kong/memcached:1")
	im := ImagesFromEnv()
	require.Equal(t, "registry.example/kong/memcached:1", im[images.RoleMemcached])
	require.Equal(t, images.Official[images.RoleCassandra], im[images.RoleCassandra])
}
