package kube

import (
	"fmt"
	"strings"

	"github.com/kongchaos/kong/topology"
)

// Labels on every object of a world. Label values take no slashes, so a
// component's label is its ID with dots for slashes (LabelValue); its ID
// itself is the annotation AnnotationID.
const (
	LabelWorld     = "kong.io/world"
	LabelKind      = "kong.io/kind"
	LabelRegion    = "kong.io/region"
	LabelZone      = "kong.io/zone"
	LabelComponent = "kong.io/component"
	// LabelServes names (as LabelValue) the Cassandra node a link router
	// serves.
	LabelServes = "kong.io/serves"
	// AnnotationID is a component's ID ("us-east-1/cassandra/a"); on a link
	// router's Service, the ID of the node it serves.
	AnnotationID = "kong.io/id"
	// AnnotationReplicas is the replicas a component runs with when it is
	// healthy: what a heal scales it back to.
	AnnotationReplicas = "kong.io/replicas"
)

// KindLinkRouter labels a Cassandra node's link router, which is not a
// component of the world.
const KindLinkRouter = topology.KindLinkRouter

// maxName is the longest name of a namespace or Service (an RFC 1123
// label).
const maxName = 63

// DefaultPrefix begins the names of a world's namespaces unless the user
// chose another prefix (--namespace-prefix).
const DefaultPrefix = "kong-"

// Space is where a world lives on a cluster: its name, and the prefix of
// its namespaces' names (a cluster may let a team make only namespaces
// named with its own prefix). A world's name is unique on a cluster
// whatever the prefix: its objects are found by the world's label.
type Space struct {
	// Prefix begins the name of every namespace of the world ("":
	// DefaultPrefix).
	Prefix string
	World  string
}

// prefix is Prefix, or DefaultPrefix.
func (s Space) prefix() string {
	if s.Prefix == "" {
		return DefaultPrefix
	}
	return s.Prefix
}

// Control is the world's own namespace: toxiproxy and the director;
// deleting it removes the world (it owns the region namespaces).
func (s Space) Control() string { return s.prefix() + s.World }

// Region is the namespace of one region of the world.
func (s Space) Region(region string) string { return s.prefix() + s.World + "-" + region }

// Of is the namespace component c of the world runs in.
func (s Space) Of(c topology.Component) string {
	if c.Region == "" {
		return s.Control()
	}
	return s.Region(c.Region)
}

// Owns tells whether namespace ns may be one of the world's: its control
// namespace or one named like its regions'.
func (s Space) Owns(ns string) bool {
	return ns == s.Control() || strings.HasPrefix(ns, s.Control()+"-")
}

// Check refuses a world name that is not a valid one and a prefix that
// could not begin a namespace's name: lower-case letters, digits and
// dashes, starting with a letter and ending with a dash, at most 20
// characters.
func (s Space) Check() error {
	if err := topology.CheckWorldName(s.World); err != nil {
		return err
	}
	return CheckPrefix(s.Prefix)
}

// maxPrefix is the longest namespace prefix: a namespace's name holds the
// prefix, the world's name and a region's.
const maxPrefix = 20

// CheckPrefix refuses a namespace prefix that could not begin a
// namespace's name ("" is DefaultPrefix).
func CheckPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	ok := len(prefix) >= 2 && len(prefix) <= maxPrefix && prefix[0] >= 'a' && prefix[0] <= 'z' && strings.HasSuffix(prefix, "-")
	for _, r := range prefix {
		ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
	}
	if !ok {
		return fmt.Errorf("namespace prefix %q: want lower-case letters, digits and dashes, a letter first and a dash last, at most %d characters (like %q)", prefix, maxPrefix, DefaultPrefix)
	}
	return nil
}

// ObjectName is the name of a component's StatefulSet and Service within
// its namespace: its ID without the region, dashes for slashes
// ("us-east-1/cassandra/a-2" is cassandra-a-2, "toxiproxy" is toxiproxy).
func ObjectName(c topology.Component) string {
	id := c.ID
	if c.Region != "" {
		id = strings.TrimPrefix(id, c.Region+"/")
	}
	return strings.ReplaceAll(id, "/", "-")
}

// RouterName is the name of a Cassandra node's link router (Deployment and
// Service) in the node's namespace.
func RouterName(n topology.CassandraNode) string { return ObjectName(n.Component) + "-link" }

// LabelValue is a component ID as a label value: dots for slashes.
func LabelValue(id string) string { return strings.ReplaceAll(id, "/", ".") }

// ServiceHost is the DNS name of Service name in namespace ns, as pods of
// the cluster resolve it.
func ServiceHost(name, ns string) string { return name + "." + ns + ".svc" }

// checkNames refuses a world whose namespaces or object names would not
// be RFC 1123 labels: a long world name with a long region name.
func checkNames(space Space, spec *topology.Spec, p *topology.Plan) error {
	if err := space.Check(); err != nil {
		return err
	}
	long := func(what, name string) error {
		if len(name) > maxName {
			return fmt.Errorf("%s %q is %d characters long, more than Kubernetes' %d: choose a shorter world name", what, name, len(name), maxName)
		}
		return nil
	}
	for _, r := range spec.Regions {
		if err := long("namespace", space.Region(r.Name)); err != nil {
			return err
		}
	}
	for _, c := range p.Components() {
		if err := long("object name", ObjectName(c)); err != nil {
			return err
		}
	}
	return nil
}

// worldLabels are the keys of the labels of a world's objects.
var worldLabels = topology.Labels{World: LabelWorld, Kind: LabelKind, Component: LabelComponent,
	Region: LabelRegion, Zone: LabelZone, Serves: LabelServes, Value: LabelValue}

// ZoneSelector is the label selector of every component of a zone: its
// Cassandra nodes, memcached servers and member services.
func ZoneSelector(world, region, zone string) string {
	return LabelWorld + "=" + world + "," + LabelRegion + "=" + region + "," + LabelZone + "=" + zone
}

// ComponentSelector is the label selector of one component's objects.
func ComponentSelector(world, id string) string {
	return LabelWorld + "=" + world + "," + LabelComponent + "=" + LabelValue(id)
}
