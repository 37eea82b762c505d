package containers

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers/images"
)

// Fixed ports of the container world. The spec's ports are used for every
// server kong configures itself (Cassandra, memcached, toxiproxy's API, the
// application); LocalStack keeps its own.
const (
	sqsPort = images.SQSPort
	jmxPort = 7199
	// firstCassandraProxyPort is the first port of the toxiproxy proxies that
	// carry one region's internode traffic to one node (on the links network).
	firstCassandraProxyPort = 20000
	// SQS and isthmus link listeners sit on toxiproxy's address in the
	// sending region's network, on a port that names the receiving region.
	firstSQSLinkPort     = 19000
	firstIsthmusLinkPort = 18000
)

// Host numbers inside a world's networks (the .1 of each is Docker's gateway).
const (
	hostToxiproxy = 2
	hostDirector  = 3 // links network
	hostSQS       = 3 // region network
	hostGateway   = 4 // region network
	hostSetup     = 5 // region networks (compose's one-shot setup)

	// On the links network: every node's outbound side, and every node's
	// broadcast address (its link router).
	hostNodeOutbound = 10
	hostRouter       = 130
	maxNodes         = 110

	// On a region network: Cassandra, memcached, members and the region
	// side of the link routers, up to perRegion of each.
	hostCassandra    = 10
	hostMemcached    = 70
	hostMember       = 130
	hostRouterRegion = 190
	perRegion        = 60
	maxRegions       = 50
)

// Network is one Docker network of a world.
type Network struct {
	// Key names the network inside the world (and the compose file):
	// "links" or the region's name.
	Key string
	// Name is the Docker network name: "<world>-links", "<world>-<region>".
	Name string
	// Region is empty for the links network.
	Region string
	Subnet netip.Prefix
}

// Host is the address of host number n on the network.
func (n Network) Host(i int) netip.Addr {
	a := n.Subnet.Addr().As4()
	a[3] = byte(i)
	return netip.AddrFrom4(a)
}

// Layout is a world laid out in containers: the spec's components with the
// same IDs, ring tokens, seeds and links as on every backend, each in a
// container with a fixed address on its region's network, plus the links
// network that carries everything that crosses regions.
type Layout struct {
	World string
	Slot  int
	// Secret is the world's secret, written into its servers' configs
	// (empty: their admin endpoints are open, as in the compose file).
	Secret string
	// Plan is the world's plan with container addresses: contact points,
	// memcached servers, SQS endpoints and link listeners as the
	// application and the harness use them.
	Plan    *topology.Plan
	Links   Network
	Regions []Network // in spec order
	// Outbound is each Cassandra node's address on the links network: the
	// source of its connections to other regions' nodes.
	Outbound map[string]netip.Addr
	// RouterRegionIP is each node's link router's address on the node's
	// region network (it forwards same-region connections directly).
	RouterRegionIP map[string]netip.Addr
}

// Subnet is the /16 of a world in a slot: 10.(100+slot).0.0/16. The links
// network is its first /24, region r's network the (r+1)th.
func Subnet(slot int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + slot), 0, 0}), 16)
}

// NewLayout lays out the spec's world in containers, in the given slot.
func NewLayout(world string, spec *topology.Spec, slot int) (*Layout, error) {
	if err := topology.CheckWorldName(world); err != nil {
		return nil, err
	}
	plan, err := topology.NewPlan(spec, slot)
	if err != nil {
		return nil, err
	}
	if len(spec.Regions) > maxRegions {
		return nil, fmt.Errorf("the container backend runs at most %d regions, the spec has %d", maxRegions, len(spec.Regions))
	}
	if len(plan.Cassandra) > maxNodes {
		return nil, fmt.Errorf("the container backend runs at most %d Cassandra nodes in a world, the spec has %d", maxNodes, len(plan.Cassandra))
	}
	base := Subnet(slot).Addr().As4()
	subnet := func(i int) netip.Prefix {
		a := base
		a[2] = byte(i)
		return netip.PrefixFrom(netip.AddrFrom4(a), 24)
	}
	l := &Layout{World: world, Slot: slot, Plan: plan,
		Links:          Network{Key: "links", Name: world + "-links", Subnet: subnet(0)},
		Outbound:       map[string]netip.Addr{},
		RouterRegionIP: map[string]netip.Addr{},
	}
	regionIndex := map[string]int{}
	for r, region := range spec.Regions {
		regionIndex[region.Name] = r
		l.Regions = append(l.Regions, Network{Key: region.Name, Name: world + "-" + region.Name, Region: region.Name, Subnet: subnet(1 + r)})
	}
	hp := func(a netip.Addr, port int) string { return net.JoinHostPort(a.String(), strconv.Itoa(port)) }
	ports := spec.Ports

	plan.Toxiproxy.Address = hp(l.Links.Host(hostToxiproxy), ports.Toxiproxy)
	plan.Control = ""
	plan.Director.Address = hp(l.Links.Host(hostDirector), ports.Director)
	for i := range plan.Gateways {
		g := &plan.Gateways[i]
		g.Address = hp(l.Regions[regionIndex[g.Region]].Host(hostGateway), ports.Gateway)
	}
	for i := range plan.SQS {
		c := &plan.SQS[i]
		c.Address = hp(l.Regions[regionIndex[c.Region]].Host(hostSQS), sqsPort)
	}
	counts := map[string]int{} // kind/region -> instances so far
	next := func(kind, region string) int {
		n := counts[kind+"/"+region]
		counts[kind+"/"+region]++
		return n
	}
	for i := range plan.Cassandra {
		n := &plan.Cassandra[i]
		k := next(topology.KindCassandra, n.Region)
		if k >= perRegion {
			return nil, fmt.Errorf("region %s: the container backend runs at most %d Cassandra nodes per region", n.Region, perRegion)
		}
		net := l.Regions[regionIndex[n.Region]]
		listen := net.Host(hostCassandra + k)
		router := l.Links.Host(hostRouter + i)
		n.Listen = listen.String()
		n.Address = hp(listen, ports.CQL)
		n.Broadcast = router.String()
		n.JMXPort = jmxPort
		n.LinkProxies = map[string]string{}
		for src, other := range spec.Regions {
			if other.Name != n.Region {
				n.LinkProxies[other.Name] = hp(l.Links.Host(hostToxiproxy), CassandraProxyPort(i, src, len(spec.Regions)))
			}
		}
		n.Extra = map[string]string{
			"broadcast": hp(router, ports.Storage),
			"storage":   hp(listen, ports.Storage),
			"jmx":       hp(listen, jmxPort),
		}
		l.Outbound[n.ID] = l.Links.Host(hostNodeOutbound + i)
		l.RouterRegionIP[n.ID] = net.Host(hostRouterRegion + k)
	}
	// zonal gives each member instance or memcached server the next host of
	// its region's network from host on.
	zonal := func(list []topology.Component, what string, host, port int) error {
		for i := range list {
			c := &list[i]
			k := next(c.Kind, c.Region)
			if k >= perRegion {
				return fmt.Errorf("region %s: the container backend runs at most %d %s per region", c.Region, perRegion, what)
			}
			c.Address = hp(l.Regions[regionIndex[c.Region]].Host(host+k), port)
		}
		return nil
	}
	if err := zonal(plan.Memcached, "memcached servers", hostMemcached, ports.Memcached); err != nil {
		return nil, err
	}
	if err := zonal(plan.Members, "member instances", hostMember, ports.Member); err != nil {
		return nil, err
	}
	for _, from := range spec.Regions {
		for _, to := range spec.Regions {
			if from.Name == to.Name {
				continue
			}
			tox := l.Regions[regionIndex[from.Name]].Host(hostToxiproxy)
			name := topology.LinkName(from.Name, to.Name)
			plan.SQSLinks[name] = hp(tox, firstSQSLinkPort+regionIndex[to.Name])
			plan.IsthmusLinks[name] = hp(tox, firstIsthmusLinkPort+regionIndex[to.Name])
		}
	}
	return l, nil
}

// CassandraProxyPort is the port, on toxiproxy's links address, of the proxy
// that carries region src's traffic to Cassandra node i (both indexes in
// spec order).
func CassandraProxyPort(node, src, regions int) int {
	return firstCassandraProxyPort + node*regions + src
}

// Network returns the network of a region ("" for the links network).
func (l *Layout) Network(region string) Network {
	for _, n := range l.Regions {
		if n.Region == region {
			return n
		}
	}
	return l.Links
}

// Networks lists every network of the world, the links network first.
func (l *Layout) Networks() []Network { return append([]Network{l.Links}, l.Regions...) }

// ContainerName is the Docker name of a component's container:
// "<world>-us-east-1-cassandra-a", "<world>-toxiproxy".
func ContainerName(world, id string) string {
	return world + "-" + strings.ReplaceAll(id, "/", "-")
}

// RouterName is the Docker name of a Cassandra node's link router.
func RouterName(world, nodeID string) string { return ContainerName(world, nodeID) + "-router" }

// VolumeName is the Docker volume that holds a Cassandra node's data.
func VolumeName(world, nodeID string) string { return ContainerName(world, nodeID) + "-data" }
