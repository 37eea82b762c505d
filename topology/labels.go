package topology

// KindLinkRouter is the kind label of a Cassandra node's link router, on
// the backends that run one beside the node (containers, kubernetes).
const KindLinkRouter = "link-router"

// Labels are the keys of the labels a backend puts on a world's objects,
// so that its commands find them again from the backend alone: every
// object of a world, a component's, or a zone's (an outage of the zone is
// every object labelled with it).
type Labels struct {
	World, Kind, Component, Region, Zone string
	// Serves holds the ID of the node a link router serves.
	Serves string
	// Value turns an ID into a value the backend takes as a label's (nil:
	// the ID as it is).
	Value func(id string) string
}

func (l Labels) value(id string) string {
	if l.Value == nil {
		return id
	}
	return l.Value(id)
}

// Of are the labels of component c's objects in world: its world, kind
// and ID and, when it has them, its region and zone.
func (l Labels) Of(world string, c Component) map[string]string {
	m := map[string]string{l.World: world, l.Kind: c.Kind, l.Component: l.value(c.ID)}
	if c.Region != "" {
		m[l.Region] = c.Region
	}
	if c.Zone != "" {
		m[l.Zone] = c.Zone
	}
	return m
}

// OfRouter are the labels of the link router of Cassandra node n in
// world: its node's region but no zone, so that a zone's labels select
// exactly the zone's components, and a node's router stays up while the
// node is down.
func (l Labels) OfRouter(world string, n CassandraNode) map[string]string {
	return map[string]string{l.World: world, l.Kind: KindLinkRouter, l.Region: n.Region, l.Serves: l.value(n.ID)}
}
