package history

// LagSecond is one second of a replication check's writes, by the time
// their writes were acknowledged (seconds since the first write): Written
// records acknowledged in it, Late of them not visible at the read,
// Missing never seen, and MaxLagMs the longest lag measured among them
// (late records by their re-reads, sampled records by their polls; 0 when
// none of them was measured).
type LagSecond struct {
	Second   int     `json:"s"`
	Written  int     `json:"written"`
	Late     int     `json:"late,omitempty"`
	Missing  int     `json:"missing,omitempty"`
	MaxLagMs float64 `json:"max_lag_ms,omitempty"`
}

// NodeEvidence is what the Cassandra nodes said of themselves during a
// replication check, read from their virtual tables (system_views) every
// IntervalMs: the evidence that a tail of the lag can be matched to. Times
// are seconds since the first write, as in Replication.Timeline.
type NodeEvidence struct {
	IntervalMs float64      `json:"interval_ms"`
	Samples    []NodeSample `json:"samples"`
	// GC are the garbage-collection pauses the nodes logged (Cassandra's
	// GCInspector logs each pause longer than its gc_log_threshold, 200 ms
	// by default).
	GC []GCPause `json:"gc,omitempty"`
	// LogsRead counts the nodes whose logs could be read for GC pauses: GC
	// holds every pause only when it is every node.
	LogsRead int `json:"logs_read"`
	// Unread says what could not be read: a node that did not answer, a
	// table it refused (one line per node and table: how often, and the
	// first error).
	Unread []string `json:"unread,omitempty"`
	// Source says where each figure comes from.
	Source string `json:"source"`
	// SettleSeconds is how long after the re-reads the check waited for
	// the world to be quiet again (no node with hint files, pending
	// mutations or compactions), so that the next run does not start on a
	// world still busy with this one's million records; Settled says
	// whether it was quiet by the bound, and Busy what still was if not.
	SettleSeconds float64  `json:"settle_seconds"`
	Settled       bool     `json:"settled"`
	Busy          []string `json:"busy,omitempty"`
}

// NodeSample is one node's figures at one moment. The counts that only
// grow (HintsReplayed, Dropped) are cumulative since the node started.
type NodeSample struct {
	At   float64 `json:"at_s"`
	Node string  `json:"node"`
	// MutationPending, MutationActive and MutationBlocked are the tasks of
	// the node's MutationStage (the writes it applies, its own region's and
	// the other's) waiting, running and blocked.
	MutationPending int64 `json:"mutation_pending"`
	MutationActive  int64 `json:"mutation_active"`
	MutationBlocked int64 `json:"mutation_blocked,omitempty"`
	// HintFiles counts the node's hint files waiting for a replica;
	// HintsReplayed the hint deliveries its HintsDispatcher completed.
	HintFiles     int64 `json:"hint_files"`
	HintsReplayed int64 `json:"hints_replayed"`
	// Dropped counts the internode messages the node dropped: expired
	// before they were sent or processed, refused as overloaded, or lost to
	// an error, both directions.
	Dropped int64 `json:"dropped"`
	// Compactions counts the compactions (and other sstable tasks) running.
	Compactions int64 `json:"compactions"`
}

// GCPause is one garbage-collection pause a node logged.
type GCPause struct {
	At        float64 `json:"at_s"`
	Node      string  `json:"node"`
	Ms        float64 `json:"ms"`
	Collector string  `json:"collector"`
}
