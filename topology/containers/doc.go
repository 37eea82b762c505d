// Package containers runs a topology as Docker containers, with
// testcontainers-go, behind the same topology.Cluster interface as the local
// backend, so that every scenario runs unchanged on either. The same layout
// also writes the docker-compose.yml at the repository's root (package
// compose).
//
// # The world in containers
//
// Every server of the spec is a container of the real program, from the
// official image or kong's own (package images: `kong images build` makes
// them from package registries, for engines that reach no registry): a
// Cassandra 5.0 container per Cassandra node (its region is its datacenter,
// its zone its rack, GossipingPropertyFileSnitch with prefer_local=true and
// the local backend's ring: one token per node, computed, no bootstrap),
// memcached 1.6 per zone, an SQS endpoint per region (LocalStack, or
// ElasticMQ behind LocalStack's interface; the region's invalidation queue
// is created by a LocalStack init script on every start), toxiproxy for
// every cross-region path, and kong's own image (the kong executable) for
// the member services, the gateways, the director and the link routers. Component IDs, tokens, seeds,
// links and proxy names are the topology.Plan's, as on every backend; only
// the addresses differ.
//
// # Networks and addresses
//
// Each region has its own Docker network, and one more network, "links",
// carries everything that crosses regions. A world takes a /16,
// 10.(100+slot).0.0/16, from the slot its name picks (the next free one when
// that range is in use on the engine): the links network is its first /24,
// region r's network the (r+1)th. Every container has a fixed address, so
// the plan (contact points, memcached servers, SQS endpoints, link
// listeners) is known before anything starts, and so are the seeds and
// broadcast addresses written into cassandra.yaml. Clients use these
// addresses directly, as on the local backend: a CQL driver learns its
// peers' addresses from the nodes themselves, so the host must reach the
// containers' networks (Docker Engine on Linux does; Up says so clearly
// when it cannot). Each container's ports are also published on the host,
// for testcontainers' readiness checks, on 127.0.0.1 only unless
// Options.PublishAddress asks for another address: nothing of a world
// (toxiproxy's API, CQL without authentication, memcached, SQS, the admin
// APIs) answers on the machine's other interfaces.
//
// # Cross-region Cassandra traffic crosses toxiproxy
//
// Split-brain must mean the same on both backends: cutting the link from one
// region to another stops exactly that region's replication to the other,
// and nothing else. The path is the local backend's, with containers in
// place of loopback addresses:
//
//	node A (us-east-1)                       links network                     us-west-2 network
//	listen 10.x.1.10  --outbound 10.x.0.10--> router of B at B's broadcast  --> toxiproxy proxy          --> node B
//	                                          address 10.x.0.131:7000           "…cassandra.a.from.us-east-1"    listen 10.x.2.10:7000
//	                                          (reads A's address from the       on 10.x.0.2:200NN
//	                                          handshake: us-east-1)
//
// A node listens (storage and CQL) on its address in its region's network,
// and broadcasts an address on the links network. With prefer_local, peers
// of its own datacenter connect to its listen address, straight across their
// region's network; peers of other datacenters connect to its broadcast
// address. Docker gives a container one address per network, so every node
// has its own small link router container (`kong serve link-router`, the
// router of the local backend) whose address on the links network is the
// node's broadcast address. The router reads the sender's broadcast address
// from the first bytes of Cassandra's internode handshake, and forwards the
// connection through toxiproxy's proxy for the link from the sender's
// region to this node; toxiproxy sits on every network and reaches the node
// at its listen address. Seeds are broadcast addresses, so a node's first
// connection to a seed of its own region also arrives at the router, which
// forwards it straight to the node across the region's network (the router
// is on it too). Each node is on the links network as well, only so that
// its outbound connections can reach other nodes' routers: it listens on
// its region address alone, and Docker isolates bridge networks from each
// other, so no path between regions bypasses toxiproxy.
//
// A router per node costs a few megabytes each, and needs no privilege, no
// address the engine does not manage, and no change to the images. The
// other way, one router holding every broadcast address, needs extra
// addresses added inside a container (NET_ADMIN) behind the engine's back.
// SQS invalidations and isthmus requests cross toxiproxy too: each region
// reaches another's SQS endpoint and gateway only at listeners on
// toxiproxy's address in its own network (topology.PlanAddrs.SQSEndpoint,
// the gateway's peer proxy), with the same proxy names as on the local
// backend (topology.Plan.Proxies).
//
// # Faults
//
// Every container carries the labels kong.world, kong.kind and, where they
// apply, kong.region, kong.zone and kong.component (its component ID).
// Kill is a container kill (SIGKILL), Stop a container stop, Pause a
// container pause (the cgroup freezer: the whole server silent, as SIGSTOP
// is locally), Start a container start of the same container (data,
// volumes and address kept) followed by a wait until it answers. A zone is
// every container with that zone's label (ZoneContainers): its Cassandra
// nodes, memcached servers and member services, the same components the
// harness's zone selector picks. Link routers carry their node's region
// but no zone, and stay up while their node is down.
//
// # Cleanup
//
// Everything a world creates carries its kong.world label, and Down (or
// `kong down --backend containers`) removes every container, network and
// volume with it, also what a failed or interrupted start left half-made.
// testcontainers' reaper (Ryuk) is off: its image comes only from a
// registry. Tests start kong's reaper instead (StartReaper: a host process
// that removes the world once the test binary ends, however it ends);
// `kong up --backend containers` starts none, so that the world outlives
// the command.
//
// The parts that need no engine are plain functions, unit-tested without
// one: the layout (NewLayout, ChooseSlot), the containers and their
// requests (Containers, Customizers, Request), the files they get, their
// labels, the mapping of Cluster operations onto container actions
// (Actions, StateOf, ZoneContainers).
package containers
