package containers

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/kongchaos/kong/topology"
)

// Labels on every container, network and volume of a world: faults and
// cleanup find what they act on by label, never by guessing names.
const (
	LabelWorld     = "kong.world"
	LabelKind      = "kong.kind"
	LabelRegion    = "kong.region"
	LabelZone      = "kong.zone"
	LabelComponent = "kong.component" // the component ID, on components only
	// LabelServes names the Cassandra node a link router serves.
	LabelServes = "kong.serves"
	// LabelSpec holds the world's spec (JSON) on its links network, so that
	// another process can find the world from the engine alone.
	LabelSpec = "kong.spec"
	// LabelSecret holds the world's secret on its links network: whoever
	// can read the engine's labels can steer the engine anyway.
	LabelSecret = "kong.secret"
)

// Kinds of container that are not components of the world.
const (
	KindLinkRouter = topology.KindLinkRouter
	KindSetup      = "setup"
	KindNetwork    = "network"
	KindVolume     = "volume"
)

// worldLabels are the keys of the labels of a world's containers.
var worldLabels = topology.Labels{World: LabelWorld, Kind: LabelKind, Component: LabelComponent,
	Region: LabelRegion, Zone: LabelZone, Serves: LabelServes}

// WorldFilter is the label filter ("key=value") that selects everything of
// a world.
func WorldFilter(world string) string { return LabelWorld + "=" + world }

// ZoneFilters are the label filters that select every container of a zone:
// the zone's Cassandra nodes, memcached servers and member services.
func ZoneFilters(world, region, zone string) []string {
	return []string{WorldFilter(world), LabelRegion + "=" + region, LabelZone + "=" + zone}
}

// MatchLabels reports whether labels satisfy every "key=value" filter.
func MatchLabels(labels map[string]string, filters []string) bool {
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || labels[k] != v {
			return false
		}
	}
	return true
}

// ChooseSlot picks the slot of a world: the one its name prefers
// (topology.SlotFor), or the next whose /16 overlaps none of the subnets
// already in use on the engine.
func ChooseSlot(world string, taken []netip.Prefix) (int, error) {
	first := topology.SlotFor(world)
	for i := 0; i < topology.Slots; i++ {
		slot := (first + i) % topology.Slots
		s := Subnet(slot)
		free := true
		for _, t := range taken {
			if t.Overlaps(s) {
				free = false
				break
			}
		}
		if free {
			return slot, nil
		}
	}
	return 0, fmt.Errorf("no free address range for world %s: every 10.100-199.0.0/16 overlaps a Docker network of the engine; remove some (`docker network ls`)", world)
}
