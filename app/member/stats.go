package member

import (
	"context"
	"net/http"

	"github.com/kongchaos/kong/app"
)

// StatsReport is the body of GET /admin/stats: what the service did since
// it started. Counters start at zero with each process.
type StatsReport struct {
	// Version is the release the instance runs, and Defects the defects
	// it carries (none for a good release).
	Version   string `json:"version"`
	Defects   Faults `json:"defects,omitzero"`
	Requests  uint64 `json:"requests"`
	CacheHits uint64 `json:"cache_hits"`
	// CassandraOps counts the queries the service sent to Cassandra: the
	// load it put on the data tier.
	CassandraOps         uint64 `json:"cassandra_ops"`
	InvalidationsApplied uint64 `json:"invalidations_applied"`
	InjectedFailures     uint64 `json:"injected_failures"`
	SlowedReads          uint64 `json:"slowed_reads"`
	// InvalidationBacklog is the invalidations waiting per target region;
	// InvalidationSends the sent, failed and dropped ones per target.
	InvalidationBacklog    map[string]int       `json:"invalidation_backlog"`
	InvalidationSends      map[string][3]uint64 `json:"invalidation_sends"`
	InvalidationsDropped   uint64               `json:"invalidations_dropped"`
	InvalidationsRetried   uint64               `json:"invalidations_retried"`
	InvalidationsOversized Oversized            `json:"invalidations_oversized"`
	OutboxJournalErrors    uint64               `json:"outbox_journal_errors"`
	// CacheRepairs is absent without a cache.
	CacheRepairs *CacheRepairs `json:"cache_repairs,omitempty"`
}

// Oversized counts the replicated values sent as plain invalidations
// because they were too large, and the messages refused even so.
type Oversized struct {
	Downgraded uint64 `json:"downgraded"`
	Refused    uint64 `json:"refused"`
}

// CacheRepairs counts the cache zones whose write failed: waiting for a
// retry, repaired, and given up.
type CacheRepairs struct {
	Pending  uint64 `json:"pending"`
	Repaired uint64 `json:"repaired"`
	Dropped  uint64 `json:"dropped"`
}

func (s *Service) statsReport() StatsReport {
	r := StatsReport{
		Version: s.cfg.Release.Version, Defects: s.cfg.Release.Defects,
		Requests: s.stats.Requests.Load(), CacheHits: s.stats.CacheHits.Load(),
		CassandraOps: s.stats.CassandraOps.Load(), InvalidationsApplied: s.stats.Invalidations.Load(),
		InjectedFailures: s.stats.InjectedFails.Load(), SlowedReads: s.stats.SlowedReads.Load(),
		InvalidationBacklog: s.pub.Backlog(), InvalidationSends: s.pub.Stats(),
		InvalidationsDropped: s.consumed.Dropped.Load(), InvalidationsRetried: s.consumed.Retried.Load(),
		OutboxJournalErrors: s.pub.JournalErrors(),
	}
	r.InvalidationsOversized.Downgraded, r.InvalidationsOversized.Refused = s.pub.Oversized()
	if s.cache != nil {
		pending, repaired, dropped := s.cache.Repairs()
		r.CacheRepairs = &CacheRepairs{Pending: uint64(pending), Repaired: repaired, Dropped: dropped}
	}
	return r
}

// Stats is GET /admin/stats.
func (a AdminClient) Stats(ctx context.Context) (StatsReport, error) {
	return app.Call[StatsReport](ctx, a.c, http.MethodGet, "/admin/stats", nil)
}
