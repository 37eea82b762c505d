// Package kube lays a world out as Kubernetes objects and maps kong's
// faults onto the Kubernetes API: the kubernetes backend (Backend).
//
// The world keeps the shape it has on the other backends: the same
// component IDs, ring tokens, seeds and links. Each region is a namespace
// (<prefix><world>-<region>, the prefix kong- unless told otherwise, see
// Space); toxiproxy and the director live in the world's control
// namespace (<prefix><world>), and every region namespace is owned by
// it, so that deleting the control namespace removes the whole world.
// Every component is a StatefulSet of one replica behind a ClusterIP
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
// Backend brings a world up (the objects, then the same CQL readiness as
// the other backends), finds, heals and takes it down; a lease renewed by
// the run and a healer Deployment heal a world whose kong died mid-fault
// (Acquire, healer.go). A game day's traffic runs inside the cluster:
// Remote runs a kong command in a run Job of the world from outside it,
// and package runjob is that Job's side. kong setup --kubernetes builds a control
// plane and a real node of this machine for the tests (internal/kubesetup).
package kube
