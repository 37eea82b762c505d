package kube

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers/images"
	"github.com/kongchaos/kong/topology/linkrouter"
)

// Ports in the pods that the spec does not set: SQS (ElasticMQ and
// LocalStack answer on 4566), JMX (on the node's loopback), and the first
// ports of toxiproxy's link listeners.
const (
	sqsPort              = images.SQSPort
	jmxPort              = 7199
	firstCassandraLink   = 20000
	firstSQSLinkPort     = 21000
	firstIsthmusLinkPort = 22000
)

// PodIP stands in the Cassandra configuration for the pod's own address,
// which the pod learns when it starts (the downward API's status.podIP):
// its command writes the address in before Cassandra reads the file.
const PodIP = "@POD_IP@"

// Layout is a world laid out on Kubernetes: the spec's components with the
// same IDs, ring tokens, seeds and links as on every backend, each behind
// a Service of its region's namespace.
type Layout struct {
	// Space is the world's name and namespaces.
	Space
	// Secret is the world's secret, written into its servers' configs.
	Secret string
	// Plan is the world's plan with the cluster's addresses: Service DNS
	// names for the components and toxiproxy's link listeners, and each
	// Cassandra node's broadcast address at its link router's Service.
	Plan *topology.Plan
}

// NewLayout lays the world's spec out on Kubernetes. broadcast maps each
// Cassandra node's ID to the cluster IP the API server gave its link
// router's Service (RouterServices): a node's broadcast address must be an
// IP, and peers route by it.
func NewLayout(space Space, secret string, spec *topology.Spec, broadcast map[string]netip.Addr) (*Layout, error) {
	plan, err := topology.NewPlan(spec, 0)
	if err != nil {
		return nil, err
	}
	if err := checkNames(space, spec, plan); err != nil {
		return nil, err
	}
	ports := spec.Ports
	at := func(c topology.Component, port int) string {
		return net.JoinHostPort(ServiceHost(ObjectName(c), space.Of(c)), strconv.Itoa(port))
	}
	tox := func(port int) string {
		return net.JoinHostPort(ServiceHost(ObjectName(plan.Toxiproxy), space.Control()), strconv.Itoa(port))
	}
	plan.Toxiproxy.Address = at(plan.Toxiproxy, ports.Toxiproxy)
	plan.Control = ""
	plan.Director.Address = at(plan.Director, ports.Director)
	for i := range plan.Gateways {
		plan.Gateways[i].Address = at(plan.Gateways[i], ports.Gateway)
	}
	for i := range plan.SQS {
		plan.SQS[i].Address = at(plan.SQS[i], sqsPort)
	}
	for i := range plan.Memcached {
		plan.Memcached[i].Address = at(plan.Memcached[i], ports.Memcached)
	}
	for i := range plan.Members {
		plan.Members[i].Address = at(plan.Members[i], ports.Member)
	}
	regions := spec.RegionNames()
	for i := range plan.Cassandra {
		n := &plan.Cassandra[i]
		ip, ok := broadcast[n.ID]
		if !ok || !ip.IsValid() {
			return nil, fmt.Errorf("no broadcast address for Cassandra node %s: its link router's Service has no cluster IP", n.ID)
		}
		n.Address = at(n.Component, ports.CQL)
		n.Listen = PodIP
		n.Broadcast = ip.String()
		n.JMXPort = jmxPort
		n.LinkProxies = map[string]string{}
		for src, from := range regions {
			if from != n.Region {
				n.LinkProxies[from] = tox(cassandraLinkPort(i, src, len(regions)))
			}
		}
		n.Extra = map[string]string{
			"broadcast": net.JoinHostPort(n.Broadcast, strconv.Itoa(ports.Storage)),
			"storage":   at(n.Component, ports.Storage),
			"jmx":       net.JoinHostPort("127.0.0.1", strconv.Itoa(jmxPort)),
		}
	}
	link := 0
	for _, from := range regions {
		for _, to := range regions {
			if from == to {
				continue
			}
			name := topology.LinkName(from, to)
			plan.SQSLinks[name] = tox(firstSQSLinkPort + link)
			plan.IsthmusLinks[name] = tox(firstIsthmusLinkPort + link)
			link++
		}
	}
	return &Layout{Space: space, Secret: secret, Plan: plan}, nil
}

// cassandraLinkPort is the port of toxiproxy's listener that carries
// region src's traffic to Cassandra node i (both indexes in spec order).
func cassandraLinkPort(node, src, regions int) int { return firstCassandraLink + node*regions + src }

// Proxies are toxiproxy's proxies as its pod serves them: each listens on
// every address of the pod, at its link's port.
func (l *Layout) Proxies() ([]topology.Proxy, error) {
	out := l.Plan.Proxies()
	for i := range out {
		_, port, err := net.SplitHostPort(out[i].Listen)
		if err != nil {
			return nil, fmt.Errorf("proxy %s: %w", out[i].Name, err)
		}
		out[i].Listen = net.JoinHostPort("0.0.0.0", port)
	}
	return out, nil
}

// Route is the link route of Cassandra node n as its router's pod serves
// it: it listens on every address of the pod, and sends each connection by
// its sender's broadcast address to n itself (n's region) or to n's proxy
// for the sender's region.
func (l *Layout) Route(n topology.CassandraNode) (linkrouter.Route, error) {
	for i, r := range linkrouter.PlanRoutes(l.Plan) {
		if l.Plan.Cassandra[i].ID == n.ID {
			r.Listen = net.JoinHostPort("0.0.0.0", strconv.Itoa(l.Plan.Spec.Ports.Storage))
			return r, nil
		}
	}
	return linkrouter.Route{}, fmt.Errorf("no Cassandra node %s", n.ID)
}
