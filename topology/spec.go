// Package topology describes a multi-region world as data (the Spec), checks it,
// turns it into a deterministic address plan, and defines the Cluster interface
// that the harness drives without knowing which backend runs the world.
package topology

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"
)

//go:embed profiles/*.yaml
var profileFS embed.FS

// Spec is a world: its regions and zones, how many of each component run per
// zone, the versions and sizes of the real servers, and the ports they use.
type Spec struct {
	// Name is the profile or file the spec came from; it is informational.
	Name      string         `yaml:"name"`
	Cassandra CassandraSpec  `yaml:"cassandra"`
	Memcached MemcachedSpec  `yaml:"memcached"`
	SQS       SQSSpec        `yaml:"sqs"`
	Ports     Ports          `yaml:"ports"`
	PerZone   map[string]int `yaml:"per_zone"`
	Regions   []Region       `yaml:"regions"`

	// source names the file (or profile) for error messages; lines maps a
	// field path such as "regions[1].zones[0]" to its line in that file.
	source string
	lines  map[string]int
	// profile is the embedded profile the spec came from ("" for a file).
	profile string
}

// CassandraSpec configures the Cassandra datacenters (one per region).
type CassandraSpec struct {
	Version string `yaml:"version"`
	// Heap is the JVM heap of each node, such as "512M" or "1G".
	Heap string `yaml:"heap"`
	// ReplicationFactor is the number of replicas in each region.
	ReplicationFactor int    `yaml:"replication_factor"`
	Keyspace          string `yaml:"keyspace"`
}

// MemcachedSpec configures the EVCache-style cache servers.
type MemcachedSpec struct {
	MemoryMB int `yaml:"memory_mb"`
	// Replicate names the data sets whose writes send their new value to
	// the other regions' caches (EVCache's full replication); the others'
	// writes invalidate the key there. Only "profiles" can: a viewing
	// history is cached as a whole list, which an appended entry makes
	// stale, so it is always invalidated.
	Replicate []string `yaml:"replicate"`
}

// DataSets are the application's cached data sets, for MemcachedSpec.
const (
	DataSetProfiles = "profiles"
	DataSetHistory  = "history"
)

// SQSSpec configures the SQS-compatible endpoint of each region.
type SQSSpec struct {
	ElasticMQVersion string `yaml:"elasticmq_version"`
	Heap             string `yaml:"heap"`
}

// Ports are the port numbers the world's servers listen on. Every server has
// its own loopback address (see Plan), so the same number is reused across
// servers of a kind; JMX is the exception, bound on 127.0.0.1 from Base on.
type Ports struct {
	Storage   int `yaml:"storage"`
	CQL       int `yaml:"cql"`
	Memcached int `yaml:"memcached"`
	SQS       int `yaml:"sqs"`
	Toxiproxy int `yaml:"toxiproxy"`
	Control   int `yaml:"control"`
	Member    int `yaml:"member"`
	Gateway   int `yaml:"gateway"`
	Director  int `yaml:"director"`
	// Base is the first JMX port on 127.0.0.1; a world uses a block of
	// JMXBlock ports from Base + slot*JMXBlock.
	Base int `yaml:"base"`
}

// Region is a Cassandra datacenter with its zones (racks).
type Region struct {
	Name  string   `yaml:"name"`
	Zones []string `yaml:"zones"`
	// PerZone overrides the spec's per-zone component counts for this region.
	PerZone map[string]int `yaml:"per_zone"`
	// Capacity is the region's maximum traffic level in requests per second,
	// used to split an evacuated region's users by spare capacity.
	Capacity int `yaml:"capacity"`
}

// Component kinds that are counted per zone.
var perZoneKinds = []string{KindCassandra, KindMemcached, KindMember}

// Count returns how many components of kind run in each zone of region r.
func (s *Spec) Count(r Region, kind string) int {
	if n, ok := r.PerZone[kind]; ok {
		return n
	}
	return s.PerZone[kind]
}

// RegionNames lists the regions in spec order.
func (s *Spec) RegionNames() []string {
	names := make([]string, len(s.Regions))
	for i, r := range s.Regions {
		names[i] = r.Name
	}
	return names
}

// Region returns the region with that name.
func (s *Spec) Region(name string) (Region, bool) {
	for _, r := range s.Regions {
		if r.Name == name {
			return r, true
		}
	}
	return Region{}, false
}

// Source is the file or profile the spec was read from.
func (s *Spec) Source() string { return s.source }

// ProfileName is the embedded profile the spec was read from, "" when it
// was read from a file.
func (s *Spec) ProfileName() string { return s.profile }

// The versions a spec runs unless it names others (and that kong's own
// container images hold).
const (
	DefaultCassandraVersion = "5.0.9"
	DefaultElasticMQVersion = "1.6.16"
)

// defaults fills what a spec may leave out.
func defaults() Spec {
	return Spec{
		Cassandra: CassandraSpec{Version: DefaultCassandraVersion, Heap: "512M", ReplicationFactor: 3, Keyspace: "kong"},
		Memcached: MemcachedSpec{MemoryMB: 64},
		SQS:       SQSSpec{ElasticMQVersion: DefaultElasticMQVersion, Heap: "128M"},
		Ports: Ports{
			Storage: 7000, CQL: 9042, Memcached: 11211, SQS: 9324,
			Toxiproxy: 8474, Control: 8475, Base: 17000,
			Member: 8080, Gateway: 8000, Director: 8053,
		},
		PerZone: map[string]int{KindCassandra: 1, KindMemcached: 1, KindMember: 1},
	}
}

// Profiles lists the embedded profile names.
func Profiles() []string {
	entries, _ := fs.ReadDir(profileFS, "profiles")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Profile returns an embedded profile by name (default, small, global).
func Profile(name string) (*Spec, error) {
	data, err := profileFS.ReadFile(path.Join("profiles", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("unknown profile %q: the profiles are %s", name, strings.Join(Profiles(), ", "))
	}
	spec, err := Parse("profile "+name, data)
	if err != nil {
		return nil, err
	}
	spec.profile = name
	return spec, nil
}

// Load reads and validates a spec file.
func Load(file string) (*Spec, error) {
	// Not a FIFO or a device (which would block or never end), and not
	// bigger than any topology is.
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("read topology %s: not a regular file (%s): give a YAML file", file, info.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTopologyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read topology %s: %w", file, err)
	}
	if len(data) > maxTopologyBytes {
		return nil, fmt.Errorf("topology %s is larger than %d KiB: a topology is a few KiB of YAML; check the file", file, maxTopologyBytes>>10)
	}
	return Parse(file, data)
}

// maxTopologyBytes bounds a topology file.
const maxTopologyBytes = 1 << 20

// Parse reads a spec from YAML on top of the defaults and validates it. Errors
// name the source and the line of the offending field.
func Parse(source string, data []byte) (*Spec, error) {
	spec := defaults()
	spec.source = source
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: the topology is empty: it needs at least a regions list", source)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(source, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: the topology is empty: it needs at least a regions list", source)
	}
	spec.lines = map[string]int{}
	indexLines(&root, "", spec.lines)

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		return nil, yamlError(source, err)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return &spec, nil
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// yamlError turns a YAML decoder error into "source:line: message" lines, one
// per problem, in the same form as validation errors.
func yamlError(source string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	problems := make([]string, 0, len(msgs))
	for _, m := range msgs {
		m = strings.Replace(m, "field ", "unknown key ", 1)
		if strings.Contains(m, " not found in type topology.") {
			m = strings.Replace(m, " not found in type topology.", " (not a field of ", 1) + ")"
		}
		if loc := yamlLine.FindStringSubmatch(m); loc != nil {
			m = fmt.Sprintf("%s:%s: %s", source, loc[1], m[len(loc[0]):])
		} else {
			m = source + ": " + m
		}
		problems = append(problems, m)
	}
	return &SpecError{Problems: problems}
}

// indexLines records the line of every mapping value and sequence item by path.
func indexLines(n *yaml.Node, p string, lines map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			indexLines(c, p, lines)
		}
	case yaml.MappingNode:
		lines[p] = n.Line
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			child := key
			if p != "" {
				child = p + "." + key
			}
			indexLines(n.Content[i+1], child, lines)
			lines[child] = n.Content[i].Line
		}
	case yaml.SequenceNode:
		lines[p] = n.Line
		for i, c := range n.Content {
			child := fmt.Sprintf("%s[%d]", p, i)
			lines[child] = c.Line
			indexLines(c, child, lines)
		}
	default:
		if _, ok := lines[p]; !ok {
			lines[p] = n.Line
		}
	}
}

// at formats "source:line" for a field path, falling back to its nearest
// parent that has a line, then to the bare source.
func (s *Spec) at(p string) string {
	for q := p; q != ""; {
		if l, ok := s.lines[q]; ok {
			return fmt.Sprintf("%s:%d", s.source, l)
		}
		i := strings.LastIndexAny(q, ".[")
		if i < 0 {
			break
		}
		q = q[:i]
	}
	return s.source
}
