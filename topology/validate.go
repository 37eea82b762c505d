package topology

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var (
	regionName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)
	zoneName   = regexp.MustCompile(`^[a-z0-9]{1,16}$`)
	heapSize   = regexp.MustCompile(`^[1-9][0-9]*[MG]$`)
	version    = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
)

// Limits of the address plan: every world fits in one 127.N.0.0/16.
const (
	MaxRegions          = 8
	MaxCassandraNodes   = JMXBlock
	MaxPerKindInstances = 250
)

// Validate checks the spec and returns every problem found, each with the
// file and line it comes from.
func (s *Spec) Validate() error {
	var errs []string
	add := func(p, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s: %s", s.at(p), fmt.Sprintf(format, args...)))
	}

	if len(s.Regions) == 0 {
		add("regions", "no regions: a world needs at least one region (two for active-active)")
	}
	if len(s.Regions) > MaxRegions {
		add("regions", "%d regions: at most %d fit the address plan", len(s.Regions), MaxRegions)
	}
	if !version.MatchString(s.Cassandra.Version) || !strings.HasPrefix(s.Cassandra.Version, "5.0.") {
		add("cassandra.version", "cassandra version %q: kong runs Cassandra 5.0.x (for example 5.0.9)", s.Cassandra.Version)
	}
	if !heapSize.MatchString(s.Cassandra.Heap) {
		add("cassandra.heap", "cassandra heap %q: write it as a number of megabytes or gigabytes, such as 512M or 1G", s.Cassandra.Heap)
	}
	if !heapSize.MatchString(s.SQS.Heap) {
		add("sqs.heap", "sqs heap %q: write it as a number of megabytes or gigabytes, such as 128M", s.SQS.Heap)
	}
	if !version.MatchString(s.SQS.ElasticMQVersion) || versionLess(s.SQS.ElasticMQVersion, "1.6.16") {
		add("sqs.elasticmq_version", "elasticmq version %q: it must be 1.6.16 or newer (the AWS JSON protocol)", s.SQS.ElasticMQVersion)
	}
	if !regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`).MatchString(s.Cassandra.Keyspace) {
		add("cassandra.keyspace", "keyspace %q: use lower-case letters, digits and underscores, starting with a letter", s.Cassandra.Keyspace)
	}
	if s.Cassandra.ReplicationFactor < 1 {
		add("cassandra.replication_factor", "replication factor %d: it must be at least 1", s.Cassandra.ReplicationFactor)
	}
	if s.Memcached.MemoryMB < 1 {
		add("memcached.memory_mb", "memcached memory %d MB: it must be at least 1", s.Memcached.MemoryMB)
	}
	for i, d := range s.Memcached.Replicate {
		if d != DataSetProfiles {
			add(fmt.Sprintf("memcached.replicate[%d]", i), "memcached replicate %q: only %q can be replicated (a %s is always invalidated)", d, DataSetProfiles, DataSetHistory)
		}
	}
	s.validateCounts("per_zone", s.PerZone, add)
	s.validatePorts(add)

	seenRegion := map[string]int{}
	nodes, caches, members := 0, 0, 0
	for i, r := range s.Regions {
		p := fmt.Sprintf("regions[%d]", i)
		if !regionName.MatchString(r.Name) {
			add(p+".name", "region name %q: use lower-case letters, digits and dashes, such as us-east-1", r.Name)
		}
		if first, dup := seenRegion[r.Name]; dup {
			add(p+".name", "duplicate region %q (first defined at %s)", r.Name, s.at(fmt.Sprintf("regions[%d].name", first)))
		} else {
			seenRegion[r.Name] = i
		}
		if len(r.Zones) == 0 {
			add(p, "region %q has no zones: list at least one, such as zones: [a, b, c]", r.Name)
		}
		seenZone := map[string]int{}
		for j, z := range r.Zones {
			zp := fmt.Sprintf("%s.zones[%d]", p, j)
			if !zoneName.MatchString(z) {
				add(zp, "zone name %q in region %q: use lower-case letters and digits, such as a", z, r.Name)
			}
			if first, dup := seenZone[z]; dup {
				add(zp, "duplicate zone %q in region %q (first defined at %s)", z, r.Name, s.at(fmt.Sprintf("%s.zones[%d]", p, first)))
			} else {
				seenZone[z] = j
			}
		}
		if r.PerZone != nil {
			s.validateCounts(p+".per_zone", r.PerZone, add)
		}
		if r.Capacity < 0 {
			add(p+".capacity", "capacity %d of region %q: it must not be negative", r.Capacity, r.Name)
		}
		if len(r.Zones) > 0 && s.Cassandra.ReplicationFactor > len(r.Zones) {
			rfAt := "cassandra.replication_factor"
			if _, ok := s.lines[rfAt]; !ok {
				rfAt = p + ".zones"
			}
			add(rfAt, "replication factor %d is above the %d zone(s) of region %q: each replica needs its own zone (rack)",
				s.Cassandra.ReplicationFactor, len(r.Zones), r.Name)
		}
		for _, kind := range []string{KindCassandra, KindMemcached} {
			_, inRegion := r.PerZone[kind]
			_, inSpec := s.PerZone[kind]
			if !inRegion && !inSpec {
				add(p, "region %q runs no %s: set per_zone.%s to at least 1", r.Name, kind, kind)
			}
		}
		nodes += len(r.Zones) * s.Count(r, KindCassandra)
		caches += len(r.Zones) * s.Count(r, KindMemcached)
		members += len(r.Zones) * s.Count(r, KindMember)
	}
	if nodes > MaxCassandraNodes {
		add("regions", "%d Cassandra nodes: at most %d fit the address plan", nodes, MaxCassandraNodes)
	}
	if caches > MaxPerKindInstances {
		add("regions", "%d memcached servers: at most %d fit the address plan", caches, MaxPerKindInstances)
	}
	if members > MaxPerKindInstances {
		add("regions", "%d member service instances: at most %d fit the address plan", members, MaxPerKindInstances)
	}
	if len(errs) > 0 {
		return &SpecError{Problems: errs}
	}
	return nil
}

func (s *Spec) validateCounts(p string, counts map[string]int, add func(string, string, ...any)) {
	kinds := make([]string, 0, len(counts))
	for kind := range counts {
		kinds = append(kinds, kind)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		n := counts[kind]
		known := false
		for _, k := range perZoneKinds {
			known = known || k == kind
		}
		if !known {
			add(p+"."+kind, "unknown component %q in %s: the per-zone components are %s", kind, p, strings.Join(perZoneKinds, ", "))
			continue
		}
		if n < 0 || n > 9 {
			add(p+"."+kind, "%s count %d per zone: it must be between 0 and 9", kind, n)
		}
		if kind != KindMember && n >= 0 && n < 1 {
			add(p+"."+kind, "%s count %d per zone: every zone needs at least one", kind, n)
		}
	}
}

func (s *Spec) validatePorts(add func(string, string, ...any)) {
	named := []struct {
		key  string
		port int
	}{
		{"storage", s.Ports.Storage}, {"cql", s.Ports.CQL}, {"memcached", s.Ports.Memcached},
		{"sqs", s.Ports.SQS}, {"toxiproxy", s.Ports.Toxiproxy}, {"control", s.Ports.Control},
		{"member", s.Ports.Member}, {"gateway", s.Ports.Gateway}, {"director", s.Ports.Director},
		{"base", s.Ports.Base},
	}
	for _, n := range named {
		if n.port < 1 || n.port > 65535 {
			add("ports."+n.key, "port %d for %s: it must be between 1 and 65535", n.port, n.key)
		}
	}
	// Ports that share an address must differ.
	if s.Ports.Storage == s.Ports.CQL {
		add("ports.cql", "cql port %d collides with the storage port: both are bound on each Cassandra node's address", s.Ports.CQL)
	}
	if s.Ports.Toxiproxy == s.Ports.Control {
		add("ports.control", "control port %d collides with the toxiproxy port: both are bound on the world's service address", s.Ports.Control)
	}
	if end := s.Ports.Base + Slots*JMXBlock - 1; s.Ports.Base >= 1 && end > 65535 {
		add("ports.base", "JMX port range %d-%d (%d worlds x %d nodes) runs past 65535: lower ports.base", s.Ports.Base, end, Slots, JMXBlock)
	}
}

// SpecError lists every problem of a spec.
type SpecError struct{ Problems []string }

func (e *SpecError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid topology: " + e.Problems[0]
	}
	return "invalid topology:\n  " + strings.Join(e.Problems, "\n  ")
}

// IsSpecError reports whether err is a validation error.
func IsSpecError(err error) bool {
	var se *SpecError
	return errors.As(err, &se)
}

func versionLess(a, b string) bool {
	var x, y [3]int
	fmt.Sscanf(a, "%d.%d.%d", &x[0], &x[1], &x[2])
	fmt.Sscanf(b, "%d.%d.%d", &y[0], &y[1], &y[2])
	for i := range x {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return false
}
