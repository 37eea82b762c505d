package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/replcheck"
	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/internal/cql"
	"github.com/kongchaos/kong/topology"
)

// PlainWriteLoop is the replication check's baseline: the driver, a
// session pinned to the region, the check's table and write
// (replcheck.WriteRecords: the same statement, the same batches),
// conc goroutines writing n records, nothing else; at rate records per
// second when rate > 0, paced open loop as the check paces its writes
// (replcheck.PaceWrites, conc writes in flight at most). It returns how
// long the writes took and how many records failed.
func PlainWriteLoop(ctx context.Context, c topology.Cluster, region string, n, conc, batch int, rate float64, cl gocql.Consistency) (time.Duration, int64, error) {
	ks := c.Spec().Cassandra.Keyspace
	s, err := topology.RegionSession(c, region, ks)
	if err != nil {
		return 0, 0, err
	}
	defer cql.CloseSession(s)
	if err := s.Query(replcheck.Schema(ks, replcheck.Table)).ExecContext(ctx); err != nil {
		return 0, 0, err
	}
	insert := replcheck.Insert(ks, replcheck.Table)
	run := fmt.Sprintf("baseline-%d", time.Now().UnixNano())
	var next, failed atomic.Int64
	start := time.Now()
	if rate > 0 {
		replcheck.PaceWrites(ctx, n, batch, rate, conc, time.Hour, func(ctx context.Context, first, count int) {
			if err := replcheck.WriteRecords(ctx, s, insert, run, first, count, cl); err != nil {
				failed.Add(int64(count))
			}
		})
		return time.Since(start), failed.Load(), ctx.Err()
	}
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				first := int(next.Add(int64(batch)) - int64(batch))
				if first >= n {
					return
				}
				count := min(batch, n-first)
				if err := replcheck.WriteRecords(ctx, s, insert, run, first, count, cl); err != nil {
					failed.Add(int64(count))
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), failed.Load(), ctx.Err()
}

// BackgroundLoad starts the workload the replication check runs under
// (rate operations per second through the director), so that the plain
// loop writes under it too; stop ends it.
func BackgroundLoad(ctx context.Context, c topology.Cluster, rate float64, seed uint64) (stop func(), err error) {
	comps, err := c.Components(ctx)
	if err != nil {
		return nil, err
	}
	director := ""
	for _, s := range comps {
		if s.Kind == topology.KindDirector {
			director = "http://" + s.Address
		}
	}
	if director == "" {
		return nil, fmt.Errorf("world %s runs no director", c.Name())
	}
	wl, err := workload.New(workload.Config{Director: director, Geos: c.Spec().RegionNames(),
		Pacer: workload.Constant(rate), Members: 200, Seed: seed, Dial: topology.DialFunc(c)})
	if err != nil {
		return nil, err
	}
	if err := wl.Start(ctx); err != nil {
		return nil, err
	}
	return func() { _, _ = wl.Stop() }, nil
}

// Row is what one run of the replication bench measured.
type Row struct {
	Name   string
	Use    CPUUse
	Writes time.Duration
	Rate   float64
	Failed int64
}

// Print says at once what a run measured, so that a long bench that is
// stopped keeps the runs it finished.
func (r Row) Print(w io.Writer) {
	fmt.Fprintf(w, "  %s: wall %s, writing %s, %.0f writes/s, %d failed; CPU: client %s, machine %s",
		r.Name, r.Use.Wall.Round(100*time.Millisecond), r.Writes.Round(100*time.Millisecond), r.Rate, r.Failed,
		Cores(r.Use.Client, r.Use.Wall), Cores(r.Use.Machine, r.Use.Wall))
	groups := make([]string, 0, len(r.Use.ByGroup))
	for g := range r.Use.ByGroup {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		fmt.Fprintf(w, ", %s %s", g, Cores(r.Use.ByGroup[g], r.Use.Wall))
	}
	fmt.Fprintln(w)
}

// Replication runs the replication check beside plain driver loops writing
// the same rows, under the same background load, each after the world has
// quieted down.
type Replication struct {
	Cluster topology.Cluster
	Groups  Groups
	// From is the region written in; Records, Concurrency, Batch and
	// WriteConsistency the writes, as the check makes them.
	From                        string
	Records, Concurrency, Batch int
	// Rate paces the writes of the check and of the plain loops alike
	// (records per second; 0: unpaced).
	Rate             float64
	WriteConsistency gocql.Consistency
	// To is the region the check reads in, ReadAfter after each write
	// with ReadConsistency (said in the header; the plain loops only write).
	To              string
	ReadConsistency gocql.Consistency
	ReadAfter       time.Duration
	// Load is the background load in operations per second; Seed seeds it.
	Load float64
	Seed uint64
	// Baselines is the number of plain loops: 1 before the check, 2
	// before and after it.
	Baselines int
	// Check runs the replication check and returns what it wrote (Writes,
	// Rate, Failed); the bench measures its CPU.
	Check func(ctx context.Context) (Row, error)
	// Progress receives a line as each run starts and ends, and the waits
	// between runs.
	Progress io.Writer
}

// WriteHeader says what the bench runs on and what it writes: the machine
// (cores, memory, system, load average), the world and its Cassandra nodes
// in the two regions, the records and how they are written and read, and
// the background load.
func (b Replication) WriteHeader(w io.Writer) {
	fmt.Fprintf(w, "machine: %d cores, %s, %s; load average at start %s\n", runtime.NumCPU(), MemTotal(), OSName(), LoadAverage())
	fmt.Fprintf(w, "world %s (%s): %d Cassandra nodes\n", b.Cluster.Name(), b.Cluster.Spec().Name, len(b.Groups[CassandraGroup(b.From)])+len(b.Groups[CassandraGroup(b.To)]))
	pace := "unpaced"
	if b.Rate > 0 {
		pace = fmt.Sprintf("paced at %g records/s", b.Rate)
	}
	fmt.Fprintf(w, "%d records, %d to a write, %d writes in flight (%s), written in %s at %s, read in %s at %s %s after each write;\n",
		b.Records, max(1, b.Batch), b.Concurrency, pace, b.From, b.WriteConsistency, b.To, b.ReadConsistency, b.ReadAfter)
	fmt.Fprintf(w, "the plain loops and the check all run under the background load of %g operations/s through the director\n", b.Load)
}

// CheckRow is the row of the replication check whose run folder is dir,
// from its replication.json: how long it wrote, at what rate, and how many
// records failed.
func CheckRow(dir string) (Row, error) {
	sum, err := history.LoadReplication(dir)
	if err != nil {
		return Row{}, fmt.Errorf("the check left no summary: %w", err)
	}
	return Row{Writes: time.Duration(sum.WriteSeconds * float64(time.Second)), Rate: sum.WriteRate, Failed: int64(sum.WriteErrors)}, nil
}

// CheckName names the replication check's row.
const CheckName = "replication check"

// ReplicationResult is what the replication bench measured: a row per
// run in the order they ran, among them the check's.
type ReplicationResult struct {
	Rows  []Row
	Check Row
	// Groups are the process groups whose CPU each row holds (Groups.Names).
	Groups []string
}

// Run measures the world's Cassandra CPU at rest (said on out), then the
// runs.
func (b Replication) Run(ctx context.Context, out io.Writer) (ReplicationResult, error) {
	rows, check, err := b.run(ctx, out)
	return ReplicationResult{Rows: rows, Check: check, Groups: b.Groups.Names()}, err
}

func (b Replication) run(ctx context.Context, out io.Writer) (rows []Row, check Row, err error) {
	idle := b.Groups.CassandraCores(ctx, 3*time.Second)
	fmt.Fprintf(out, "Cassandra at rest: %.2f cores; before each run the bench waits until it is back near that\n\n", idle)
	settle := func() { b.Groups.Quiesce(ctx, b.Progress, idle, 90*time.Second) }
	baseline := func(name string) error {
		settle()
		fmt.Fprintf(b.Progress, "%s: plain driver loop writing %d records under the background load...\n", name, b.Records)
		stop, err := BackgroundLoad(ctx, b.Cluster, b.Load, b.Seed)
		if err != nil {
			return err
		}
		before := b.Groups.Sample()
		took, failed, err := PlainWriteLoop(ctx, b.Cluster, b.From, b.Records, b.Concurrency, b.Batch, b.Rate, b.WriteConsistency)
		stop()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		row := Row{Name: name, Use: before.Until(b.Groups.Sample()), Writes: took,
			Rate: float64(int64(b.Records)-failed) / took.Seconds(), Failed: failed}
		rows = append(rows, row)
		row.Print(b.Progress)
		return nil
	}
	if b.Baselines > 0 {
		if err := baseline("plain loop (before)"); err != nil {
			return rows, check, err
		}
	}
	settle()
	fmt.Fprintf(b.Progress, "replication check of %d records...\n", b.Records)
	before := b.Groups.Sample()
	check, err = b.Check(ctx)
	if err != nil {
		return rows, check, err
	}
	check.Name, check.Use = CheckName, before.Until(b.Groups.Sample())
	rows = append(rows, check)
	check.Print(b.Progress)
	if b.Baselines > 1 {
		if err := baseline("plain loop (after)"); err != nil {
			return rows, check, err
		}
	}
	return rows, check, nil
}

// Write prints the rows as a table (wall time, writes, CPU of the client,
// of each group and of the machine), then the check's write rate beside the
// plain loops' mean and its wall time, each beside its target.
func (r ReplicationResult) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "\twall\twriting\twrites/s\tfailed\tclient CPU"
	for _, g := range r.Groups {
		head += "\t" + g + " CPU"
	}
	fmt.Fprintln(tw, head+"\tmachine busy\t")
	for _, row := range r.Rows {
		line := fmt.Sprintf("%s\t%s\t%s\t%.0f\t%d\t%s", row.Name, row.Use.Wall.Round(100*time.Millisecond), row.Writes.Round(100*time.Millisecond),
			row.Rate, row.Failed, Cores(row.Use.Client, row.Use.Wall))
		for _, g := range r.Groups {
			line += "\t" + Cores(row.Use.ByGroup[g], row.Use.Wall)
		}
		fmt.Fprintln(tw, line+"\t"+Cores(row.Use.Machine, row.Use.Wall)+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "(CPU as core-seconds and, in brackets, the average number of cores busy over the wall time)")

	var baseRate float64
	n := 0
	for _, row := range r.Rows {
		if row.Name != r.Check.Name {
			baseRate += row.Rate
			n++
		}
	}
	if n > 0 {
		baseRate /= float64(n)
		fmt.Fprintf(w, "\nwrite rate: replication check %.0f/s, plain loop %.0f/s (mean of %d): ratio %.3f (target >= 0.9)\n", r.Check.Rate, baseRate, n, r.Check.Rate/baseRate)
	}
	fmt.Fprintf(w, "replication check wall time: %s (target <= 3m for 1,000,000 records)\n", r.Check.Use.Wall.Round(100*time.Millisecond))
	return nil
}

// Report prints the result (Write), then the check's, whose run folder
// is dir: how long each of its phases took (WriteCheckPhases), its
// outcome, its figures (replcheck.WriteSummaryOf) and the folder.
func (r ReplicationResult) Report(w io.Writer, dir string, outcome *run.Outcome) error {
	if err := r.Write(w); err != nil {
		return err
	}
	WriteCheckPhases(w, dir, r.Check.Use.Wall)
	fmt.Fprintf(w, "replication check: %s\n", outcome)
	replcheck.WriteSummaryOf(w, dir)
	fmt.Fprintf(w, "artifacts: %s\n", dir)
	return nil
}

// WriteCheckPhases prints how long each phase of the replication check
// whose run folder is dir took, from its history; what is left of wall (the
// check's wall time) went to the set-up and the reports.
func WriteCheckPhases(w io.Writer, dir string, wall time.Duration) {
	h, err := history.Load(filepath.Join(dir, history.HistoryFile))
	if err != nil {
		return
	}
	ri, err := history.LoadRunInfo(dir)
	if err != nil {
		return
	}
	var starts []history.Event
	for _, e := range h.Events {
		if e.Kind == history.PhaseStart {
			starts = append(starts, e)
		}
	}
	if len(starts) == 0 {
		return
	}
	fmt.Fprint(w, "replication check phases:")
	var sum time.Duration
	for i, e := range starts {
		end := ri.Finished
		if i+1 < len(starts) {
			end = starts[i+1].Time
		}
		d := end.Sub(e.Time)
		sum += d
		label := e.Name
		switch e.Name {
		case history.PhaseObserve:
			label = "observe (writes and reads)"
		case history.PhaseConverge:
			label = "converge (late records)"
		case history.PhaseVerify:
			label = "verify (statistics, checkers, logs)"
		}
		fmt.Fprintf(w, " %s %s,", label, d.Round(10*time.Millisecond))
	}
	fmt.Fprintf(w, " set-up and reports %s\n", max(0, wall-sum).Round(10*time.Millisecond))
}
