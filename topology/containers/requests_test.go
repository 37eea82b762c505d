package containers

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/network"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/linkrouter"
	"github.com/kongchaos/kong/topology/probe"
)

func containersOf(t *testing.T, l *Layout) []Container {
	t.Helper()
	cs, err := Containers(l, DefaultImages())
	require.NoError(t, err)
	return cs
}

func fileOf(t *testing.T, c Container, path string) []byte {
	t.Helper()
	for _, f := range c.Files {
		if f.Path == path {
			return f.Content
		}
	}
	t.Fatalf("container %s has no file %s", c.Name, path)
	return nil
}

func byName(t *testing.T, cs []Container, name string) Container {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return Container{}
}

func TestContainersInStartOrder(t *testing.T) {
	l := layout(t, "default")
	cs := containersOf(t, l)
	p := l.Plan
	nodes := len(p.Cassandra)
	require.Len(t, cs, 1+nodes+len(p.SQS)+len(p.Memcached)+nodes+len(p.Members)+len(p.Gateways)+1)
	var kinds []string
	for _, c := range cs {
		if len(kinds) == 0 || kinds[len(kinds)-1] != c.Kind {
			kinds = append(kinds, c.Kind)
		}
	}
	require.Equal(t, []string{topology.KindToxiproxy, KindLinkRouter, topology.KindSQS, topology.KindMemcached,
		topology.KindCassandra, topology.KindMember, topology.KindGateway, topology.KindDirector}, kinds)
	seenOther := false
	for _, c := range cs {
		if c.Kind != topology.KindCassandra {
			continue
		}
		if !c.Seed {
			seenOther = true
		}
		require.False(t, c.Seed && seenOther, "seed %s after a non-seed", c.Name)
	}
	// Component containers are found by ID, with a clear error otherwise.
	c, err := findContainer("kong", cs, "us-west-2/cassandra/b")
	require.NoError(t, err)
	require.Equal(t, "kong-us-west-2-cassandra-b", c.Name)
	_, err = findContainer("kong", cs, "us-west-2/cassandra/z")
	require.ErrorContains(t, err, `unknown component "us-west-2/cassandra/z" in world kong: the components are `)
}

// Every container has a unique name and, on each of its networks, an
// address of that network that no other container has.
func TestContainersHaveUniqueNamesAndAddresses(t *testing.T) {
	for _, name := range topology.Profiles() {
		t.Run(name, func(t *testing.T) {
			l := layout(t, name)
			cs := append(containersOf(t, l), SetupContainer(l, DefaultImages()))
			names := map[string]bool{}
			ips := map[netip.Addr]string{}
			for _, c := range cs {
				require.False(t, names[c.Name], "two containers named %s", c.Name)
				names[c.Name] = true
				require.NotEmpty(t, c.Networks, c.Name)
				for _, a := range c.Networks {
					require.True(t, a.Network.Subnet.Contains(a.IP), "%s: %s is not on %s", c.Name, a.IP, a.Network.Name)
					require.Greater(t, int(a.IP.As4()[3]), 1, "%s takes the network's gateway", c.Name)
					require.Empty(t, ips[a.IP], "%s and %s share %s", c.Name, ips[a.IP], a.IP)
					ips[a.IP] = c.Name
				}
			}
		})
	}
}

func TestContainersAreLabeledForFaultsAndCleanup(t *testing.T) {
	l := layout(t, "default")
	for _, c := range containersOf(t, l) {
		require.Equal(t, "kong", c.Labels[LabelWorld], c.Name)
		require.Equal(t, c.Kind, c.Labels[LabelKind], c.Name)
		if c.ID == "" {
			require.Equal(t, KindLinkRouter, c.Kind)
			require.NotEmpty(t, c.Labels[LabelServes])
			require.NotContains(t, c.Labels, LabelZone, "a router has no zone: killing a zone leaves it")
			continue
		}
		require.Equal(t, c.ID, c.Labels[LabelComponent])
		region, _, zone, err := topology.ParseID(c.ID)
		require.NoError(t, err)
		if region != "" {
			require.Equal(t, region, c.Labels[LabelRegion], c.Name)
		}
		if zone != "" {
			require.Equal(t, strings.SplitN(zone, "-", 2)[0], c.Labels[LabelZone], c.Name)
		} else {
			require.NotContains(t, c.Labels, LabelZone, c.Name)
		}
		for _, v := range c.Volumes {
			require.Equal(t, "kong", v.Labels[LabelWorld], "volume %s", v.Name)
		}
	}
}

// A Cassandra node's request: the image, its name and labels, kong's
// cassandra.yaml and rackdc (listen on the region's network, broadcast at
// its router, seeds at the seeds' routers), the JVM options that point at
// them, both networks with fixed addresses, and its labeled data volume.
func TestCassandraRequest(t *testing.T) {
	l := layout(t, "default")
	cs := containersOf(t, l)
	n := l.Plan.Cassandra[4] // us-west-2/cassandra/b
	require.Equal(t, "us-west-2/cassandra/b", n.ID)
	c := byName(t, cs, "kong-us-west-2-cassandra-b")

	req, err := Request(c, netip.Addr{})
	require.NoError(t, err)
	require.Equal(t, "cassandra:5.0", req.Image)
	require.Equal(t, "kong-us-west-2-cassandra-b", req.Name)
	require.Equal(t, "us-west-2", req.Labels[LabelRegion])
	require.Equal(t, "b", req.Labels[LabelZone])
	require.Equal(t, []string{"9042/tcp"}, req.ExposedPorts)
	require.Contains(t, req.Env["JVM_OPTS"], "-Dcassandra.initial_token="+n.Token)
	require.Contains(t, req.Env["JVM_OPTS"], "-Dcassandra.config=file:///etc/kong/cassandra.yaml")
	require.Contains(t, req.Env["JVM_OPTS"], "-Dcassandra-rackdc.properties=file:///etc/kong/cassandra-rackdc.properties")
	require.Equal(t, "512M", req.Env["MAX_HEAP_SIZE"])

	yaml := string(fileOf(t, c, cassandraYAMLPath))
	require.Contains(t, yaml, "listen_address: "+n.Listen+"\n")
	require.Contains(t, yaml, "broadcast_address: "+n.Broadcast+"\n")
	require.Contains(t, yaml, "broadcast_rpc_address: "+n.Listen+"\n")
	require.Contains(t, yaml, "rpc_address: 0.0.0.0\n", "CQL binds every address of the container")
	require.Contains(t, yaml, "initial_token: '"+n.Token+"'")
	var seeds []string
	for _, o := range l.Plan.Cassandra {
		if o.Seed {
			seeds = append(seeds, o.Broadcast+":7000")
		}
	}
	require.Len(t, seeds, 2, "one seed per region")
	require.Contains(t, yaml, "- seeds: '"+strings.Join(seeds, ",")+"'")
	require.Equal(t, "dc=us-west-2\nrack=b\nprefer_local=true\n", string(fileOf(t, c, cassandraRackDCPath)))

	require.Equal(t, []string{"kong-us-west-2"}, req.Networks)
	settings := map[string]*network.EndpointSettings{"kong-us-west-2": {NetworkID: "id"}}
	req.EndpointSettingsModifier(settings)
	require.Equal(t, "id", settings["kong-us-west-2"].NetworkID, "the created-on network keeps its ID")
	require.Equal(t, netip.MustParseAddr(n.Listen), settings["kong-us-west-2"].IPAMConfig.IPv4Address)
	require.Nil(t, settings["kong-links"], "one network at creation: an engine older than API 1.44 refuses more")
	require.Len(t, req.LifecycleHooks, 1)
	require.Len(t, req.LifecycleHooks[0].PostCreates, 1, "the links network is connected after creation, before the start")

	require.Len(t, req.Mounts, 1)
	vol, ok := req.Mounts[0].Source.(testcontainers.DockerVolumeMountSource)
	require.True(t, ok)
	require.Equal(t, "kong-us-west-2-cassandra-b-data", vol.Name)
	require.Equal(t, "kong", vol.VolumeOptions.Labels[LabelWorld])
	require.Equal(t, testcontainers.ContainerMountTarget("/var/lib/cassandra"), req.Mounts[0].Target)
	require.Len(t, req.Files, 2)
}

// The cross-region path: a connection from every node to every other node
// goes to the target's broadcast address, where its router, from the
// sender's handshake, sends it either straight to the target (same region)
// or to the one toxiproxy proxy of the link from the sender's region, whose
// upstream is the target. Every proxy of every link exists in toxiproxy's
// configuration, exactly once, and nothing else does.
func TestCrossRegionCassandraTrafficCrossesTheLinkOfItsSender(t *testing.T) {
	for _, name := range []string{"default", "global"} {
		t.Run(name, func(t *testing.T) {
			l := layout(t, name)
			cs := containersOf(t, l)
			tox := byName(t, cs, "kong-toxiproxy")
			var proxies []topology.Proxy
			require.NoError(t, json.Unmarshal(fileOf(t, tox, toxiproxyConfigPath), &proxies))
			byListen := map[string]topology.Proxy{}
			configured := map[string]bool{}
			for _, p := range proxies {
				require.NotContains(t, byListen, p.Listen, "two proxies listen on %s", p.Listen)
				byListen[p.Listen] = p
				configured[p.Name] = true
				require.True(t, p.Enabled)
			}
			linkOf := map[string]string{}
			for _, link := range l.Plan.Links() {
				for _, p := range link.Proxies {
					require.True(t, configured[p], "proxy %s of link %s is not configured", p, link.Name)
					require.NotContains(t, linkOf, p, "proxy %s is in two links", p)
					linkOf[p] = link.Name
				}
			}
			require.Len(t, proxies, len(linkOf), "toxiproxy has proxies that no link lists")

			for _, to := range l.Plan.Cassandra {
				var routes []linkrouter.Route
				router := byName(t, cs, RouterName("kong", to.ID))
				require.NoError(t, json.Unmarshal(fileOf(t, router, routesPath), &routes))
				require.Len(t, routes, 1)
				route := routes[0]
				require.Equal(t, to.Broadcast+":7000", route.Listen)
				require.Equal(t, netip.MustParseAddr(to.Broadcast), router.Networks[0].IP, "the router holds the node's broadcast address")
				for _, from := range l.Plan.Cassandra {
					if from.ID == to.ID {
						continue
					}
					next, ok := route.BySource[from.Broadcast]
					require.True(t, ok, "router of %s does not know %s", to.ID, from.ID)
					if from.Region == to.Region {
						require.Equal(t, to.Extra["storage"], next, "%s -> %s stays in the region", from.ID, to.ID)
						continue
					}
					p, ok := byListen[next]
					require.True(t, ok, "%s -> %s goes to %s, where no proxy listens", from.ID, to.ID, next)
					require.Equal(t, topology.ProxyName(to.ID, from.Region), p.Name)
					require.Equal(t, to.Extra["storage"], p.Upstream)
					require.Equal(t, topology.LinkName(from.Region, to.Region), linkOf[p.Name])
				}
			}
			// SQS and isthmus listeners forward to the receiving region.
			for _, link := range l.Plan.Links() {
				sqs := byListen[l.Plan.SQSLinks[link.Name]]
				require.Equal(t, topology.SQSProxyName(link.From, link.To), sqs.Name)
				require.Equal(t, strings.TrimPrefix(topology.PlanAddrs{Plan: l.Plan}.SQSEndpoint(link.To, link.To), "http://"), sqs.Upstream)
				isthmus := byListen[l.Plan.IsthmusLinks[link.Name]]
				require.Equal(t, topology.IsthmusProxyName(link.From, link.To), isthmus.Name)
			}
			// toxiproxy is on every network, at the address the listeners use.
			require.Len(t, tox.Networks, 1+len(l.Regions))
			require.Equal(t, []string{"-host=0.0.0.0", "-port=8474", "-config=/etc/kong/toxiproxy.json"}, tox.Cmd)
		})
	}
}

// The application's configurations: a member talks to its region's nodes,
// memcached and SQS, and to other regions' queues through the links; a
// gateway proxies to other regions through the isthmus link.
func TestApplicationConfigurations(t *testing.T) {
	l := layout(t, "default")
	cs := containersOf(t, l)
	m := byName(t, cs, "kong-us-east-1-member-a")
	require.Equal(t, "kongchaos/kong:dev", m.Image)
	require.Equal(t, []string{"serve", "member", "--listen", l.Plan.Members[0].Address, "--config", appConfigPath}, m.Cmd)
	var mc member.Config
	require.NoError(t, json.Unmarshal(fileOf(t, m, appConfigPath), &mc))
	require.Equal(t, l.Plan.Members[0].ID, mc.Instance)
	for _, p := range mc.Cassandra {
		require.True(t, l.Network("us-east-1").Subnet.Contains(addrIP(t, p)), "contact point %s outside the region", p)
	}
	require.Equal(t, topology.PlanAddrs{Plan: l.Plan}.SQSEndpoint("us-east-1", "us-east-1"), mc.OwnSQS)
	require.Len(t, mc.Targets, 1)
	require.Equal(t, topology.PlanAddrs{Plan: l.Plan}.SQSEndpoint("us-east-1", "us-west-2"), mc.Targets[0].Endpoint)

	g := byName(t, cs, "kong-us-east-1-gateway")
	var gc gateway.Config
	require.NoError(t, json.Unmarshal(fileOf(t, g, appConfigPath), &gc))
	require.Len(t, gc.Members, 3)
	require.Equal(t, "http://"+l.Plan.IsthmusLinks["us-east-1->us-west-2"], gc.PeerProxy["us-west-2"])

	d := byName(t, cs, "kong-director")
	require.Equal(t, l.Links, d.Networks[0].Network)
	req, err := Request(d, netip.Addr{})
	require.NoError(t, err)
	require.Equal(t, []string{"8053/tcp"}, req.ExposedPorts)
}

func TestSQSContainer(t *testing.T) {
	l := layout(t, "small")
	c := byName(t, containersOf(t, l), "kong-us-west-2-sqs")
	require.Equal(t, "localstack/localstack:4.4", c.Image)
	require.Equal(t, "sqs", c.Env["SERVICES"])
	require.Equal(t, l.Plan.SQS[1].Address, c.Env["LOCALSTACK_HOST"])
	init := string(fileOf(t, c, localstackInitPath))
	require.Contains(t, init, `"QueueName":"invalidations-us-west-2"`)
	require.Contains(t, init, "AmazonSQS.CreateQueue")
	require.Contains(t, c.Health, "invalidations-us-west-2")
	require.Contains(t, c.Tmpfs, "/var/lib/localstack", "no anonymous volume is left behind")
}

func TestSetupStatements(t *testing.T) {
	l := layout(t, "global")
	s := probe.SetupOf(l.Plan)
	require.Len(t, s.Nodes, len(l.Plan.Cassandra))
	stmts := s.KeyspaceStatements()
	require.Equal(t, "CREATE KEYSPACE IF NOT EXISTS kong WITH replication = {'class': 'NetworkTopologyStrategy', 'us-east-1': 3, 'us-west-2': 3, 'eu-west-1': 3}", stmts[0])
	require.Contains(t, stmts[1], "CREATE KEYSPACE IF NOT EXISTS kong_probe")
	require.Contains(t, stmts[2], "kong_probe.probe")
}

func TestImagesFromEnv(t *testing.T) {
	t.Setenv("KONG_IMAGE", "example/kong:1")
	t.Setenv("KONG_SQS_IMAGE", "localstack/localstack:4.9")
	im := ImagesFromEnv()
	require.Equal(t, "example/kong:1", im.Kong)
	require.Equal(t, "localstack/localstack:4.9", im.SQS)
	require.Equal(t, DefaultImages().Cassandra, im.Cassandra)
}
