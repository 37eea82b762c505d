package replcheck

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/topology"
)

// Table is the table a replication check writes, in the world's
// keyspace.
const Table = "replication_check"

// RecordsPerPartition is how many records share one partition.
const RecordsPerPartition = 64

// payload is the value every record carries (64 bytes).
var payload = []byte("kong replication check: a record written in one region, read in another")[:64]

// Config configures one replication check. Cluster, From, To and
// Records are required; the rest has defaults.
type Config struct {
	Cluster topology.Cluster
	// From is the region the records are written in, To the region they
	// are read in.
	From, To string
	// Records is how many records are written.
	Records int
	// ReadAfter is how long after its acknowledgement each record is read
	// in To (default 500 ms).
	ReadAfter time.Duration
	// Consistency levels of the writes (default LOCAL_QUORUM) and of the
	// reads (default LOCAL_ONE).
	WriteConsistency, ReadConsistency gocql.Consistency
	// Keyspace (default the world's) and Table (default Table).
	Keyspace, Table string
	// RunID names this check's records in the table (default derived from
	// the seed and the time).
	RunID string
	// Concurrency is the number of writes in flight (default 64); Readers
	// the reads at ReadAfter in flight (default 128); LateReaders the
	// re-reads of late records in flight (default 8).
	Concurrency, Readers, LateReaders int
	// Samples is how many records are polled from their acknowledgement
	// (default 0.5 % of Records, at least 1000, at most Records; -1: none),
	// drawn with Seed.
	Samples int
	Seed    uint64
	// PollInterval is the sample's first poll interval (default 2 ms).
	PollInterval time.Duration
	// ReadTolerance is the delay past due beyond which a read counts as
	// late (default 25 ms).
	ReadTolerance time.Duration
	// Deadline bounds how long Converge re-reads the late records
	// (default 2 min).
	Deadline time.Duration
	// WriteRetries is how often a failed write is retried (default 3).
	WriteRetries int
	// Batch is how many records one write carries (default 1: a write per
	// record, as in Netflix's experiment). Above 1 the records of a write
	// are consecutive, in one partition, sent as one unlogged batch: they
	// are applied, acknowledged and replicated together. It must divide
	// RecordsPerPartition.
	Batch int
	// Rate paces the writes open loop at this many records per second (0:
	// unpaced, as fast as Concurrency writes in flight go): the world is
	// measured below its saturation, and Concurrency only caps the writes
	// in flight.
	Rate float64
}

// Consistency levels a check accepts for its writes and its reads. ANY is
// not one: a write at ANY may be acknowledged with no replica holding it.
// Serial levels are for lightweight transactions, and EACH_QUORUM is for
// writes only.
var (
	WriteLevels = []gocql.Consistency{gocql.One, gocql.Two, gocql.Three, gocql.Quorum, gocql.All, gocql.LocalQuorum, gocql.EachQuorum, gocql.LocalOne}
	ReadLevels  = []gocql.Consistency{gocql.One, gocql.Two, gocql.Three, gocql.Quorum, gocql.All, gocql.LocalQuorum, gocql.LocalOne}
)

// LevelNames lists consistency levels as CQL spells them: "ONE, TWO, ...".
func LevelNames(levels []gocql.Consistency) string {
	names := make([]string, len(levels))
	for i, l := range levels {
		names[i] = l.String()
	}
	return strings.Join(names, ", ")
}

// ParseLevel reads a consistency level given as option: one of allowed
// (WriteLevels, ReadLevels), in any case.
func ParseLevel(option, value string, allowed []gocql.Consistency) (gocql.Consistency, error) {
	v := strings.ToUpper(strings.TrimSpace(value))
	for _, a := range allowed {
		if v == a.String() {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%s %q is not a consistency level this check uses; use one of %s", option, value, LevelNames(allowed))
}

// Defaults is the configuration a check runs with when it leaves the
// settings out (kong replication-check's flags show them): reads 500 ms
// after each write, writes at LOCAL_QUORUM and reads at LOCAL_ONE, 64
// writes in flight, 128 reads at ReadAfter and 8 re-reads of late records
// in flight, a first poll interval of 2 ms, a read tolerance of 25 ms, a
// deadline of 2 min, 3 retries of a failed write, one record per write,
// in Table.
func Defaults() Config {
	var c Config
	c.fill()
	return c
}

// fill sets every setting left out that needs no world to its default.
func (c *Config) fill() {
	if c.ReadAfter == 0 {
		c.ReadAfter = 500 * time.Millisecond
	}
	if c.WriteConsistency == 0 {
		c.WriteConsistency = gocql.LocalQuorum
	}
	if c.ReadConsistency == 0 {
		c.ReadConsistency = gocql.LocalOne
	}
	if c.Table == "" {
		c.Table = Table
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Readers <= 0 {
		c.Readers = 128
	}
	if c.LateReaders <= 0 {
		c.LateReaders = 8
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Millisecond
	}
	if c.ReadTolerance <= 0 {
		c.ReadTolerance = 25 * time.Millisecond
	}
	if c.Deadline <= 0 {
		c.Deadline = 2 * time.Minute
	}
	if c.WriteRetries == 0 {
		c.WriteRetries = 3
	}
	if c.Batch == 0 {
		c.Batch = 1
	}
}

// BatchFits says whether batches of n records fit the partitions: a batch
// stays within one partition, so n must divide RecordsPerPartition.
func BatchFits(n int) bool {
	return n > 0 && n <= RecordsPerPartition && RecordsPerPartition%n == 0
}

// setDefaults checks the configuration against its world and fills what it
// leaves out: the defaults (see Defaults), the world's keyspace, a run ID
// from the seed and the time, and a sample of 0.5 % of the records (at
// least 1000, at most Records; none when Samples is negative).
func (c *Config) setDefaults() error {
	if c.Cluster == nil {
		return errors.New("replication check: no cluster")
	}
	regions := c.Cluster.Spec().RegionNames()
	switch {
	case !slices.Contains(regions, c.From):
		return fmt.Errorf("replication check: region %q is not in world %s (regions: %v)", c.From, c.Cluster.Name(), regions)
	case !slices.Contains(regions, c.To):
		return fmt.Errorf("replication check: region %q is not in world %s (regions: %v)", c.To, c.Cluster.Name(), regions)
	case c.From == c.To:
		return fmt.Errorf("replication check: write and read regions are both %s; replication is between two regions", c.From)
	case c.Records <= 0:
		return fmt.Errorf("replication check: %d records; write at least one", c.Records)
	case c.Records > 1<<30:
		return fmt.Errorf("replication check: %d records is more than this check follows (%d)", c.Records, 1<<30)
	}
	c.fill()
	if c.Keyspace == "" {
		c.Keyspace = c.Cluster.Spec().Cassandra.Keyspace
	}
	if c.RunID == "" {
		c.RunID = fmt.Sprintf("rc-%d-%d", c.Seed, time.Now().UnixNano())
	}
	switch {
	case c.Samples == 0:
		c.Samples = min(c.Records, max(1000, c.Records/200))
	case c.Samples < 0:
		c.Samples = 0
	default:
		c.Samples = min(c.Samples, c.Records)
	}
	if c.Rate < 0 {
		return fmt.Errorf("replication check: a rate of %g records/s; give a rate above 0, or 0 to write unpaced", c.Rate)
	}
	if !BatchFits(c.Batch) {
		return fmt.Errorf("replication check: batches of %d records: a batch stays within one partition of %d records, so use 1, 2, 4, 8, 16, 32 or 64", c.Batch, RecordsPerPartition)
	}
	return nil
}

// Schema is the statement that creates the check's table.
func Schema(keyspace, table string) string {
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.%s (run text, bucket int, seq int, payload blob, PRIMARY KEY ((run, bucket), seq)) WITH default_time_to_live = 86400`, keyspace, table)
}

// Insert is the statement that writes one record (see
// WriteRecords).
func Insert(keyspace, table string) string {
	return fmt.Sprintf(`INSERT INTO %s.%s (run, bucket, seq, payload) VALUES (?, ?, ?, ?)`, keyspace, table)
}

// WriteRecords writes records first .. first+count-1 of a run
// with the insert statement (Insert): one statement when count
// is 1, else one unlogged batch, which must stay within one partition
// (first a multiple of count, count dividing the partition size). The
// replication check and the plain loop it is measured against write
// through it.
func WriteRecords(ctx context.Context, s *gocql.Session, insert, run string, first, count int, cl gocql.Consistency) error {
	if count == 1 {
		return s.Query(insert, run, first/RecordsPerPartition, first, payload).Consistency(cl).ExecContext(ctx)
	}
	b := s.Batch(gocql.UnloggedBatch).Consistency(cl)
	for seq := first; seq < first+count; seq++ {
		b.Query(insert, run, seq/RecordsPerPartition, seq, payload)
	}
	return b.ExecContext(ctx)
}
