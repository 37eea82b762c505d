// Package bench measures kong against its targets, each beside a baseline
// from the same run: how long a world takes to start and how much memory it
// holds, the latency a toxiproxy link adds, member reads from cache and
// from Cassandra, and the replication check's write rate beside a plain
// driver loop writing the same rows. CPU and memory come from /proc
// (prometheus/procfs), so the benchmarks measure worlds of the local
// backend only. `kong bench` prints what they measure.
package bench
