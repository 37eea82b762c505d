package topology

// PlanAddrs answers the Cluster methods that follow from a world's plan
// alone: CQLContactPoints, MemcachedAddrs, SQSEndpoint, InvalidationQueue,
// ToxiproxyAPI and Links. A backend's world embeds it, set to its plan, and
// so implements them once for every backend.
type PlanAddrs struct{ Plan *Plan }

// CQLContactPoints are the CQL addresses of a region's Cassandra nodes.
func (a PlanAddrs) CQLContactPoints(region string) []string {
	var out []string
	for _, n := range a.Plan.Cassandra {
		if n.Region == region {
			out = append(out, n.Address)
		}
	}
	return out
}

// MemcachedAddrs maps each zone of a region to its memcached servers.
func (a PlanAddrs) MemcachedAddrs(region string) map[string][]string {
	out := map[string][]string{}
	for _, c := range a.Plan.Memcached {
		if c.Region == region {
			out[c.Zone] = append(out[c.Zone], c.Address)
		}
	}
	return out
}

// SQSEndpoint is region to's SQS endpoint as seen from region from: its own
// address in its region, a link listener on toxiproxy from elsewhere; ""
// when the plan has no such region.
func (a PlanAddrs) SQSEndpoint(from, to string) string {
	if from == to {
		for _, c := range a.Plan.SQS {
			if c.Region == to {
				return "http://" + c.Address
			}
		}
		return ""
	}
	if addr, ok := a.Plan.SQSLinks[LinkName(from, to)]; ok {
		return "http://" + addr
	}
	return ""
}

// InvalidationQueue is the name of a region's cache invalidation queue.
func (PlanAddrs) InvalidationQueue(region string) string { return InvalidationQueue(region) }

// ToxiproxyAPI is the toxiproxy HTTP API address (host:port).
func (a PlanAddrs) ToxiproxyAPI() string { return a.Plan.Toxiproxy.Address }

// Links are the cross-region links, one per ordered pair of regions.
func (a PlanAddrs) Links() []Link { return a.Plan.Links() }
