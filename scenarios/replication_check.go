package scenarios

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/replcheck"
	"github.com/kongchaos/kong/harness/run"
)

func init() {
	s := ReplicationCheckSpec(GameDayReplication)
	s.Run, s.Quick = onBackend(s.Run, func(o ReplicationOptions) RunFunc { return ReplicationCheckSpec(o).Run }),
		onBackend(s.Quick, func(o ReplicationOptions) RunFunc { return ReplicationCheckSpec(o).Quick })
	Register(s)
}

// onBackend runs the registered check with GameDayReplicationOn's options
// on a world of a backend it names (f makes the run of those options),
// and with fallback's on any other.
func onBackend(fallback RunFunc, f func(ReplicationOptions) RunFunc) RunFunc {
	return func(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
		if o, ok := GameDayReplicationOn[env.Backend]; ok {
			s.Description = ReplicationCheckSpec(o).Description
			return f(o)(ctx, s, env)
		}
		return fallback(ctx, s, env)
	}
}

// GameDayReplication are the options of the registered replication-check
// (kong gameday, kong run): the million records paced at 1,500 a second,
// 16 of a partition to a write, a quarter of the knee that kong bench
// replication --sweep found on a fresh world of a 2-core machine (about
// 6,000/s with 16 to a write, see docs/benchmarks.md). Half the knee was
// too much in a game day: after the fault scenarios before it, 3,000/s
// over six minutes made the cross-region replicas drop writes (1.3 % of
// the records visible only 15 to 22 s later, from hints), and the world
// was still busy with them when the next scenario began. The rate a
// game day uses must hold on a world that has been through a game day;
// 1,500/s is what a write per record kept in every game day before, and
// it takes about 11 minutes. kong replication-check's own defaults stay
// Netflix's plain reading: a write per record, unpaced.
var GameDayReplication = ReplicationOptions{Rate: 1500, Batch: 16}

// GameDayReplicationOn are the registered check's options on the worlds of
// other backends than the local one, by backend name. A container world
// keeps about half the local world's pace on the same machine (each
// cross-region message crosses a link router's container and toxiproxy's
// over bridge networks): kong bench replication --sweep --backend
// containers found its knee at about 2,000 records/s with 64 to a write,
// and 1,000/s with 16 to a write did not keep 99 % over a million records
// (see docs/benchmarks.md). So on containers the million records go at
// 1,000/s, 64 to a write (a whole partition in one write, read once):
// about 17 minutes.
var GameDayReplicationOn = map[string]ReplicationOptions{
	"containers": {Rate: 1000, Batch: 64},
}

// ReplicationCheckSpec is the replication-check scenario with options o
// (the registered one: GameDayReplication).
func ReplicationCheckSpec(o ReplicationOptions) Spec {
	description := "Netflix's experiment: write 1,000,000 records in one region at LOCAL_QUORUM and read each one in " +
		"the other region at LOCAL_ONE 500 ms after its write, under a background load: at least 99 % visible at 500 ms, " +
		"none missing after convergence, with the distribution of replication lag"
	if o.Rate > 0 {
		description += fmt.Sprintf("; the writes paced at %g records/s, %d to a write", o.Rate, max(o.Batch, 1))
	}
	return Spec{
		Name:        "replication-check",
		Description: description,
		Profile:     "default",
		MinRegions:  2,
		// A million records at about a thousand a second (what the default
		// world writes on a 2-core machine), with room for a busy machine.
		Timeout: 45 * time.Minute,
		Planned: o.planned(),
		Run:     o.run,
		Quick:   with(o, func(o *ReplicationOptions) { o.Records = cmp.Or(o.Records, replicationQuickRecords) }).run,
		Broken: []Variant{{
			Name:    "links-cut",
			Broken:  "every link between the two regions cut for the whole run (--during split-brain --hold-fault): no record can cross",
			Checker: "replication-complete", Reason: "were never seen in",
			Run: ReplicationOptions{Records: 2000, During: DuringSplitBrain, HoldFault: true,
				Deadline: 10 * time.Second, Steady: 2 * time.Second}.run,
		}, {
			Name:    "slow-link",
			Broken:  "700 ms of latency on the links between the two regions while the records are written (--during latency --link-latency 700ms): each record crosses, late",
			Checker: "replication-visible-at-read", Reason: "below the",
			Run: ReplicationOptions{Records: 2000, During: DuringLatency, LinkLatency: 700 * time.Millisecond,
				Deadline: 20 * time.Second, Steady: 2 * time.Second}.run,
		}, {
			Name: "remote-writes",
			Broken: "the check's writes at EACH_QUORUM while the links are cut (--write-cl EACH_QUORUM --during split-brain): " +
				"every write waits for the region across the cut, and fails",
			Checker: "replication-write-errors", Reason: "over the budget",
			// Writes that wait for a cut link until they time out hold
			// the region's coordinators, and its users may feel it.
			AlsoInvalid: []string{"availability"},
			Run: ReplicationOptions{Records: 500, During: DuringSplitBrain, WriteConsistency: gocql.EachQuorum,
				Deadline: 5 * time.Second, Steady: 2 * time.Second}.run,
		}},
	}
}

// replicationRecords is how many records the registered scenario (the game
// day) writes, replicationQuickRecords how many the Go tests write.
const (
	replicationRecords      = 1_000_000
	replicationQuickRecords = 20_000
)

// Fault names of ReplicationOptions.During.
const (
	DuringSplitBrain = "split-brain"
	DuringLatency    = "latency"
)

// ReplicationOptions are the knobs of a replication check; the zero value
// is the registered scenario, and a field left zero takes its default (see
// ReplicationDefaults).
type ReplicationOptions struct {
	// Records to write (default replicationRecords).
	Records int
	// ReadAfter is how long after its write each record is read (default
	// replcheck's, 500 ms).
	ReadAfter time.Duration
	// From and To are the write and read regions (default the world's
	// first two; see DefaultRegions).
	From, To string
	// Consistency levels (default replcheck's: LOCAL_QUORUM writes,
	// LOCAL_ONE reads), among replcheck.WriteLevels and ReadLevels.
	WriteConsistency, ReadConsistency gocql.Consistency
	// During names a fault held while the records are written: "" (none),
	// DuringSplitBrain (every link between From and To cut) or
	// DuringLatency (LinkLatency, ± a third of it, on those links). It is healed after the
	// last read at ReadAfter, before the late records are re-read until the
	// deadline; HoldFault keeps it until the end (a world that cannot
	// converge).
	During    string
	HoldFault bool
	// LinkLatency is the latency DuringLatency adds to the links (default
	// 150 ms).
	LinkLatency time.Duration
	// Deadline bounds the re-reading of late records after the writes
	// (default replcheck's, 2 min).
	Deadline time.Duration
	// Concurrency is the number of writes in flight (default replcheck's,
	// 64); Batch the records one write carries (default 1; see
	// replcheck.Config).
	Concurrency, Batch int
	// Rate paces the writes open loop at this many records per second (0,
	// the default: unpaced; see replcheck.Config).
	Rate float64
	// MinShare is the share that must be visible at ReadAfter (default
	// 0.99; not checked during a split brain, where nothing can be).
	MinShare float64
	// Load is the background workload's rate in operations per second
	// (default 20), Steady how long it runs before the writes (default 5 s).
	Load   float64
	Steady time.Duration
	// Progress, when set, is told how the check goes once a second.
	Progress func(replcheck.Progress)
}

// ReplicationDefaults are the options the registered scenario runs with
// (kong replication-check's flags show them), the regions aside (see
// DefaultRegions).
func ReplicationDefaults() ReplicationOptions {
	var o ReplicationOptions
	o.fill()
	return o
}

// fill sets every option left zero, the regions aside, to its default: the
// check's own from replcheck.Defaults, the scenario's here.
func (o *ReplicationOptions) fill() {
	d := replcheck.Defaults()
	o.Records = cmp.Or(o.Records, replicationRecords)
	o.ReadAfter = cmp.Or(o.ReadAfter, d.ReadAfter)
	o.WriteConsistency = cmp.Or(o.WriteConsistency, d.WriteConsistency)
	o.ReadConsistency = cmp.Or(o.ReadConsistency, d.ReadConsistency)
	o.Deadline = cmp.Or(o.Deadline, d.Deadline)
	o.Concurrency = cmp.Or(o.Concurrency, d.Concurrency)
	o.Batch = cmp.Or(o.Batch, d.Batch)
	o.MinShare = cmp.Or(o.MinShare, 0.99)
	o.LinkLatency = cmp.Or(o.LinkLatency, 150*time.Millisecond)
	o.Load = cmp.Or(o.Load, 20)
	o.Steady = cmp.Or(o.Steady, 5*time.Second)
}

// plannedWriteRate is the records per second the replication check is
// planned to write at: about what the default world writes on a 2-core
// machine.
const plannedWriteRate = 1000.0

// planned is how long the check is planned to take: its steady phase and
// its records at its pace (at plannedWriteRate when unpaced).
func (o ReplicationOptions) planned() time.Duration {
	o.fill()
	rate := plannedWriteRate
	if o.Rate > 0 {
		rate = o.Rate
	}
	return o.Steady + time.Duration(float64(o.Records)/rate*float64(time.Second))
}

// CheckRegions says which of From and To (spelled as their options by
// name, e.g. "--from") names a region world lacks, or that they are the
// same region.
func (o ReplicationOptions) CheckRegions(world string, regions []string, name func(option string) string) error {
	for _, r := range []struct{ option, region string }{{"from", o.From}, {"to", o.To}} {
		if r.region != "" && !slices.Contains(regions, r.region) {
			return fmt.Errorf("%s %s: world %s has no such region; its regions are %s", name(r.option), r.region, world, strings.Join(regions, ", "))
		}
	}
	if o.From != "" && o.From == o.To {
		return fmt.Errorf("%s and %s are both %s: the check reads in another region than it writes", name("from"), name("to"), o.From)
	}
	return nil
}

// Replay is the kong command line that runs the same check again on world
// with seed.
func (o ReplicationOptions) Replay(world string, seed uint64) string {
	b := fmt.Sprintf("kong replication-check --world %s --records %d --read-after %s --write-cl %s --read-cl %s --seed %d",
		world, o.Records, o.ReadAfter, o.WriteConsistency, o.ReadConsistency, seed)
	for _, x := range []struct{ flag, v string }{{"from", o.From}, {"to", o.To}, {"during", o.During}} {
		if x.v != "" {
			b += fmt.Sprintf(" --%s %s", x.flag, x.v)
		}
	}
	if o.HoldFault {
		b += " --hold-fault"
	}
	if o.During == DuringLatency {
		b += fmt.Sprintf(" --link-latency %s", o.LinkLatency)
	}
	if o.Batch > 1 {
		b += fmt.Sprintf(" --batch %d", o.Batch)
	}
	if o.Rate > 0 {
		b += fmt.Sprintf(" --rate %g", o.Rate)
	}
	return b
}

// DefaultRegions fills the regions left empty from a world's regions (at
// least two): records are written in the first region and read in the
// second, or in the first when the second is From.
func (o *ReplicationOptions) DefaultRegions(regions []string) {
	if o.From == "" {
		o.From = regions[0]
	}
	if o.To == "" {
		o.To = regions[1]
		if o.From == regions[1] {
			o.To = regions[0]
		}
	}
}

// Validate checks the options that need no world, as given (a zero is
// refused, not defaulted). Its errors name an option as name spells it:
// a command line passes its flags' names; nil spells each option as
// Validate names it ("records", "read-after", "write-consistency",
// "read-consistency", "during", "hold-fault", "link-latency", "deadline", "concurrency",
// "batch", "load", "min-share").
func (o ReplicationOptions) Validate(name func(option string) string) error {
	if name == nil {
		name = func(option string) string { return option }
	}
	switch {
	case o.Records <= 0:
		return fmt.Errorf("%s %d: write at least one record", name("records"), o.Records)
	case o.ReadAfter <= 0:
		return fmt.Errorf("%s %s: the read must come after the write", name("read-after"), o.ReadAfter)
	case !slices.Contains(replcheck.WriteLevels, o.WriteConsistency):
		return fmt.Errorf("%s %s is not a consistency level this check writes at; use one of %s", name("write-consistency"), o.WriteConsistency, replcheck.LevelNames(replcheck.WriteLevels))
	case !slices.Contains(replcheck.ReadLevels, o.ReadConsistency):
		return fmt.Errorf("%s %s is not a consistency level this check reads at; use one of %s", name("read-consistency"), o.ReadConsistency, replcheck.LevelNames(replcheck.ReadLevels))
	case o.Deadline <= 0:
		return fmt.Errorf("%s %s must be positive", name("deadline"), o.Deadline)
	case o.Concurrency <= 0:
		return fmt.Errorf("%s %d: at least one write in flight", name("concurrency"), o.Concurrency)
	case o.Rate < 0:
		return fmt.Errorf("%s %g: give a rate in records per second, or 0 to write as fast as the writes in flight go", name("rate"), o.Rate)
	case !replcheck.BatchFits(o.Batch):
		return fmt.Errorf("%s %d: a batch stays within one partition of %d records, so use 1, 2, 4, 8, 16, 32 or 64", name("batch"), o.Batch, replcheck.RecordsPerPartition)
	case o.Load <= 0:
		return fmt.Errorf("%s %g: the check runs under a background load of at least a fraction of an operation per second", name("load"), o.Load)
	case o.MinShare <= 0 || o.MinShare > 1:
		return fmt.Errorf("%s %g: a share between 0 and 1", name("min-share"), o.MinShare)
	case o.LinkLatency <= 0:
		return fmt.Errorf("%s %s must be positive", name("link-latency"), o.LinkLatency)
	case o.LinkLatency != ReplicationDefaults().LinkLatency && o.During != DuringLatency:
		return fmt.Errorf("%s is the latency of %s %s", name("link-latency"), name("during"), DuringLatency)
	case o.HoldFault && o.During == "":
		return fmt.Errorf("%s needs a %s fault to hold", name("hold-fault"), name("during"))
	}
	switch o.During {
	case "", DuringSplitBrain, DuringLatency:
		return nil
	}
	return fmt.Errorf("%s %q: the faults are %s and %s", name("during"), o.During, DuringSplitBrain, DuringLatency)
}

// run runs the replication check with options o.
func (o ReplicationOptions) run(ctx context.Context, s Spec, env *Env) (*run.Outcome, error) {
	o.fill()
	o.DefaultRegions(env.Cluster.Spec().RegionNames())
	if err := o.Validate(nil); err != nil {
		return nil, fmt.Errorf("replication check: %w", err)
	}
	checkers := []check.Checker{
		replcheck.Complete{},
		replcheck.WriteErrors{Budget: replcheck.WriteErrorBudget},
		&check.Availability{SLO: 0.99},
		&check.StaleReads{Bound: time.Second},
	}
	var faults []fault.Fault
	switch o.During {
	case "":
		checkers = append(checkers, replcheck.VisibleAtRead{MinShare: o.MinShare})
	case DuringSplitBrain:
		faults = append(faults, fault.PartitionRegions(env.Cluster, o.From, o.To))
	case DuringLatency:
		links, err := fault.Between(o.From, o.To).Select(ctx, env.Cluster)
		if err != nil {
			return nil, err
		}
		faults = append(faults, fault.LinkToxic(env.Cluster, links, fault.JitterToxic(o.LinkLatency, o.LinkLatency/3)))
		checkers = append(checkers, replcheck.VisibleAtRead{MinShare: o.MinShare})
	}
	if o.During != "" {
		s.Description += fmt.Sprintf("; during %s between %s and %s", o.During, o.From, o.To)
		if o.HoldFault {
			s.Description += ", held until the end"
		}
	}
	e, err := experiment(ctx, s, env, Times{Steady: o.Steady}, o.Load)
	if err != nil {
		return nil, err
	}
	// The check reads back its own records, and no stop condition cuts
	// its measurement short.
	e.Stop, e.Verify = nil, nil
	e.Faults, e.HoldFaults, e.Checkers = faults, o.HoldFault, checkers
	obs := &replcheck.Observer{
		Config: replcheck.Config{
			Cluster: env.Cluster, Seed: env.Seed,
			From: o.From, To: o.To, Records: o.Records, ReadAfter: o.ReadAfter,
			WriteConsistency: o.WriteConsistency, ReadConsistency: o.ReadConsistency,
			Concurrency: o.Concurrency, Batch: o.Batch, Rate: o.Rate, Deadline: o.Deadline,
		},
		Progress: o.Progress,
	}
	if !o.HoldFault {
		// A held fault keeps hints waiting until the end: no quiet to wait for.
		obs.Settle = replcheck.SettleBound
	}
	e.Observer = obs
	return e.Run(ctx)
}
