// Package kube lays a world out as Kubernetes objects and maps kong's
// faults onto the Kubernetes API: the building blocks of the kubernetes
// backend (issue: "Beyond one machine").
//
// The world keeps the shape it has on the other backends: the same
// component IDs, ring tokens, seeds and links. Each region is a namespace
// (kong-<world>-<region>); toxiproxy and the director live in the world's
// control namespace (kong-<world>), and every region namespace is owned by
// it, so that deleting the control namespace removes the whole world.
// Every component is a StatefulSet of one replica behind a headless
// Service of the same name, so that it can be stopped (scaled to 0) and
// started (scaled to 1) while its address stays put. Each Cassandra node
// also has a link router, a Deployment behind a ClusterIP Service whose
// address is the node's broadcast address: peers of other regions dial it,
// and the router sends their connections through the node's toxiproxy
// proxy for their region, exactly as a link router does on the other
// backends. Every object carries the labels kong.io/world, kong.io/kind
// and, where they apply, kong.io/region, kong.io/zone and
// kong.io/component, so that kong can rebuild what a world is from the API
// alone.
//
// Faults map onto the API (Ops): stop and start scale a component's
// StatefulSet; kill scales it to 0 and deletes its pod with no grace
// period; pause and resume send SIGSTOP and SIGCONT to the server through
// exec; partitions and latency stay toxiproxy's, unchanged.
//
// What is here is pure: objects from a spec, and API calls against a
// kubernetes.Interface (tested with client-go's fake clientset). Bringing
// a world up on a cluster, readiness, healing after kong dies and the
// command line's --backend kubernetes are not built yet.
package kube
