package topology

import (
	"fmt"
	"hash/fnv"
	"math/big"
	"net"
	"strconv"
	"strings"
)

const (
	// Slots is how many worlds can run side by side on one machine; a world's
	// slot picks its 127.(100+slot).0.0/16 address range and its JMX ports.
	Slots = 100
	// JMXBlock is the number of JMX ports on 127.0.0.1 reserved per slot.
	JMXBlock = 100
)

// SlotFor is the preferred slot of a world, chosen from its name.
func SlotFor(world string) int {
	h := fnv.New32a()
	h.Write([]byte(world))
	return int(h.Sum32() % Slots)
}

// Plan is the deterministic address plan of a spec in a slot.
type Plan struct {
	Spec      *Spec
	Slot      int
	Toxiproxy Component
	Control   string
	Cassandra []CassandraNode
	Memcached []Component
	SQS       []Component
	// SQSLinks maps LinkName(from, to) to the listener that forwards from's
	// invalidations to to's SQS endpoint.
	SQSLinks map[string]string
	// The reference application: a director, a gateway per region, member
	// service instances per zone.
	Director Component
	Gateways []Component
	Members  []Component
	// IsthmusLinks maps LinkName(from, to) to the listener that carries from's
	// gateway's proxied requests to to's gateway.
	IsthmusLinks map[string]string
}

// CassandraNode is a node's place in the ring and on the loopback network.
type CassandraNode struct {
	Component
	Listen string // listen and rpc address (intra-region traffic, CQL)
	// Broadcast is where other regions reach the node: a link router that
	// reads the connecting node's identity from Cassandra's handshake and
	// forwards through the toxiproxy proxy of the link from that region.
	Broadcast string
	// LinkProxies maps each other region to the listen address of the
	// toxiproxy proxy that carries its traffic to this node.
	LinkProxies map[string]string
	JMXPort     int
	Token       string
	Seed        bool
	DCIndex     int
}

// Prefix is the first two octets of the world's addresses.
func (p *Plan) Prefix() string { return fmt.Sprintf("127.%d", 100+p.Slot) }

func (p *Plan) ip(block, host int) string {
	return fmt.Sprintf("%s.%d.%d", p.Prefix(), block, host)
}

// zonal appends to list the instances of kind that region runs in each of
// its zones, numbered on from *n in address block block, all on one port.
func (p *Plan) zonal(list []Component, region Region, kind string, block int, n *int, port int) []Component {
	for _, zone := range region.Zones {
		for k := 0; k < p.Spec.Count(region, kind); k++ {
			*n++
			list = append(list, Component{
				ID: instanceID(region.Name, kind, zone, k), Kind: kind,
				Region: region.Name, Zone: zone,
				Address: net.JoinHostPort(p.ip(block, *n), strconv.Itoa(port)),
			})
		}
	}
	return list
}

// Address blocks inside a world's /16.
const (
	blockService   = 0 // toxiproxy API, control API
	blockSQS       = 1 // SQS endpoints (hosts 1..) and SQS link listeners (hosts 100..)
	blockListen    = 2 // Cassandra listen addresses
	blockBroadcast = 3 // Cassandra broadcast addresses (link routers)
	// blockLinkProxy + r holds the toxiproxy proxies that carry region r's
	// traffic to each Cassandra node.
	blockLinkProxy = 16
	blockMemcached = 4
	blockMember    = 5
	blockGateway   = 6
	blockIsthmus   = 7
)

// NewPlan lays out every address of the spec's world in the given slot.
func NewPlan(s *Spec, slot int) (*Plan, error) {
	if slot < 0 || slot >= Slots {
		return nil, fmt.Errorf("slot %d: it must be between 0 and %d", slot, Slots-1)
	}
	p := &Plan{Spec: s, Slot: slot, SQSLinks: map[string]string{}, IsthmusLinks: map[string]string{}}
	port := strconv.Itoa
	p.Toxiproxy = Component{ID: KindToxiproxy, Kind: KindToxiproxy,
		Address: net.JoinHostPort(p.ip(blockService, 1), port(s.Ports.Toxiproxy))}
	p.Control = net.JoinHostPort(p.ip(blockService, 1), port(s.Ports.Control))
	p.Director = Component{ID: KindDirector, Kind: KindDirector,
		Address: net.JoinHostPort(p.ip(blockService, 2), port(s.Ports.Director))}

	node, cache, member := 0, 0, 0
	for r, region := range s.Regions {
		p.Gateways = append(p.Gateways, Component{ID: region.Name + "/" + KindGateway, Kind: KindGateway, Region: region.Name,
			Address: net.JoinHostPort(p.ip(blockGateway, 1+r), port(s.Ports.Gateway))})
		p.SQS = append(p.SQS, Component{ID: region.Name + "/" + KindSQS, Kind: KindSQS, Region: region.Name,
			Address: net.JoinHostPort(p.ip(blockSQS, 1+r), port(s.Ports.SQS))})
		perZone := s.Count(region, KindCassandra)
		dcNodes := perZone * len(region.Zones)
		inDC := 0
		for _, zone := range region.Zones {
			for k := 0; k < perZone; k++ {
				listen := p.ip(blockListen, 1+node)
				n := CassandraNode{
					Component: Component{
						ID: instanceID(region.Name, KindCassandra, zone, k), Kind: KindCassandra,
						Region: region.Name, Zone: zone,
						Address: net.JoinHostPort(listen, port(s.Ports.CQL)),
					},
					Listen:    listen,
					Broadcast: p.ip(blockBroadcast, 1+node),
					JMXPort:   s.Ports.Base + slot*JMXBlock + node,
					Token:     token(inDC, dcNodes, r),
					Seed:      inDC == 0,
					DCIndex:   r,
				}
				n.LinkProxies = map[string]string{}
				for src, other := range s.Regions {
					if other.Name != region.Name {
						n.LinkProxies[other.Name] = net.JoinHostPort(p.ip(blockLinkProxy+src, 1+node), port(s.Ports.Storage))
					}
				}
				n.Extra = map[string]string{
					"broadcast": net.JoinHostPort(n.Broadcast, port(s.Ports.Storage)),
					"storage":   net.JoinHostPort(n.Listen, port(s.Ports.Storage)),
					"jmx":       net.JoinHostPort("127.0.0.1", port(n.JMXPort)),
				}
				p.Cassandra = append(p.Cassandra, n)
				node++
				inDC++
			}
		}
		p.Members = p.zonal(p.Members, region, KindMember, blockMember, &member, s.Ports.Member)
		p.Memcached = p.zonal(p.Memcached, region, KindMemcached, blockMemcached, &cache, s.Ports.Memcached)
	}
	link := 0
	for _, from := range s.Regions {
		for _, to := range s.Regions {
			if from.Name == to.Name {
				continue
			}
			p.SQSLinks[LinkName(from.Name, to.Name)] = net.JoinHostPort(p.ip(blockSQS, 100+link), port(s.Ports.SQS))
			p.IsthmusLinks[LinkName(from.Name, to.Name)] = net.JoinHostPort(p.ip(blockIsthmus, 1+link), port(s.Ports.Gateway))
			link++
		}
	}
	return p, nil
}

func instanceID(region, kind, zone string, k int) string {
	if k == 0 {
		return region + "/" + kind + "/" + zone
	}
	return fmt.Sprintf("%s/%s/%s-%d", region, kind, zone, k+1)
}

// token spreads n nodes of a datacenter evenly over the Murmur3 ring, offset
// per datacenter so that no two nodes share a token.
func token(i, n, dc int) string {
	ring := new(big.Int).Lsh(big.NewInt(1), 64)
	t := new(big.Int).Mul(ring, big.NewInt(int64(i)))
	t.Div(t, big.NewInt(int64(n)))
	t.Sub(t, new(big.Int).Lsh(big.NewInt(1), 63))
	t.Add(t, big.NewInt(int64(dc)*100))
	return t.String()
}

// Components lists every planned server in start order.
func (p *Plan) Components() []Component {
	out := []Component{p.Toxiproxy}
	out = append(out, p.SQS...)
	out = append(out, p.Memcached...)
	for _, n := range p.Cassandra {
		out = append(out, n.Component)
	}
	out = append(out, p.Members...)
	out = append(out, p.Gateways...)
	return append(out, p.Director)
}

// ProxyName is the toxiproxy proxy that carries region from's traffic to a
// Cassandra node, such as "us-west-2.cassandra.a.from.us-east-1" (toxiproxy's
// API routes take no slashes).
func ProxyName(nodeID, from string) string {
	return strings.ReplaceAll(nodeID, "/", ".") + ".from." + from
}

// IsthmusProxyName is the toxiproxy proxy that carries from's gateway's
// proxied (isthmus) requests to to's gateway.
func IsthmusProxyName(from, to string) string { return "gateway." + from + ".to." + to }

// SQSProxyName is the toxiproxy proxy that carries from's messages to to's
// queue, such as "sqs.us-east-1.to.us-west-2".
func SQSProxyName(from, to string) string { return "sqs." + from + ".to." + to }

// Links lists every directed link with the proxies its traffic crosses; each
// proxy belongs to exactly one link, so cutting a link cuts nothing else.
func (p *Plan) Links() []Link {
	var links []Link
	for _, from := range p.Spec.Regions {
		for _, to := range p.Spec.Regions {
			if from.Name == to.Name {
				continue
			}
			l := Link{Name: LinkName(from.Name, to.Name), From: from.Name, To: to.Name}
			for _, n := range p.Cassandra {
				if n.Region == to.Name {
					l.Proxies = append(l.Proxies, ProxyName(n.ID, from.Name))
				}
			}
			l.Proxies = append(l.Proxies, SQSProxyName(from.Name, to.Name), IsthmusProxyName(from.Name, to.Name))
			links = append(links, l)
		}
	}
	return links
}

// Proxy is one toxiproxy proxy of a plan, as toxiproxy's configuration file
// lists it.
type Proxy struct {
	Name     string `json:"name"`
	Listen   string `json:"listen"`
	Upstream string `json:"upstream"`
	Enabled  bool   `json:"enabled"`
}

// Proxies are every proxy of every link: one per Cassandra node and other
// region (reached through the node's link router, which picks it by the
// sender's region), and per ordered pair of regions one in front of the
// receiving region's SQS endpoint and one in front of its gateway (the
// isthmus).
func (p *Plan) Proxies() []Proxy {
	var out []Proxy
	for _, n := range p.Cassandra {
		for _, from := range p.Spec.RegionNames() {
			if listen, ok := n.LinkProxies[from]; ok {
				out = append(out, Proxy{Name: ProxyName(n.ID, from), Listen: listen, Upstream: n.Extra["storage"], Enabled: true})
			}
		}
	}
	for _, l := range p.Links() {
		for _, c := range p.SQS {
			if c.Region == l.To {
				out = append(out, Proxy{Name: SQSProxyName(l.From, l.To), Listen: p.SQSLinks[l.Name], Upstream: c.Address, Enabled: true})
			}
		}
		for _, g := range p.Gateways {
			if g.Region == l.To {
				out = append(out, Proxy{Name: IsthmusProxyName(l.From, l.To), Listen: p.IsthmusLinks[l.Name], Upstream: g.Address, Enabled: true})
			}
		}
	}
	return out
}

// InvalidationQueue names a region's cache invalidation queue.
func InvalidationQueue(region string) string { return "invalidations-" + region }
