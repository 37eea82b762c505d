package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

func newBenchReplication() *cobra.Command {
	var f replicationFlags
	var baselines int
	cmd := &cobra.Command{
		Use:   "replication",
		Short: "The replication check beside a plain driver loop writing the same rows: wall time, write rates, where the time goes",
		Long: `Against a world that is up (kong up), run a plain gocql loop that writes --records records into the
replication check's table (same statement and batches, same concurrency, same region and
consistency level, under the same background load), then the replication check itself (kong
replication-check with the same flags), then the plain loop again (--baselines 2, the default, so that neither side profits from
running first). It prints the wall time and write rate of each, the ratio of the check's write rate
to the plain loop's, and where the time went: this process's CPU (getrusage), each region's
Cassandra CPU and the rest of the world's (from /proc/<pid>/stat), the whole machine's (from
/proc/stat: other worlds on the machine show there), and the check's phases (the checkers' time is
the verify phase).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return usage(err)
			}
			if baselines < 0 || baselines > 2 {
				return fmt.Errorf("--baselines %d: 0, 1 (before the check) or 2 (before and after)", baselines)
			}
			world, home := worldFlag(cmd), homeFlag(cmd)
			cluster, err := local.Attach(home, world)
			if err != nil {
				return fmt.Errorf("%w\n(kong bench replication needs a world: `kong up --world %s --profile default`)", err, world)
			}
			if err := checkRegions(cluster, o); err != nil {
				return err
			}
			regions := cluster.Spec().RegionNames()
			if o.From == "" {
				o.From = regions[0]
			}
			if o.To == "" {
				o.To = regions[1]
				if o.From == regions[1] {
					o.To = regions[0]
				}
			}
			if !cmd.Flags().Changed("seed") {
				f.seed = 1
			}
			unlock, err := lockWorld(cmd, &local.Backend{Home: home}, world)
			if err != nil {
				return err
			}
			defer unlock()
			return benchReplication(cmd, cluster, f, o, baselines)
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&baselines, "baselines", 2, "plain driver loops: 1 before the check, 2 before and after it")
	return cmd
}

// cpuSample is the CPU time spent so far, in seconds.
type cpuSample struct {
	at      time.Time
	client  float64
	byGroup map[string]float64
	machine float64
}

type cpuUse struct {
	wall    time.Duration
	client  float64
	byGroup map[string]float64
	machine float64
}

func (a cpuSample) until(b cpuSample) cpuUse {
	u := cpuUse{wall: b.at.Sub(a.at), client: b.client - a.client, machine: b.machine - a.machine, byGroup: map[string]float64{}}
	for k, v := range b.byGroup {
		u.byGroup[k] = v - a.byGroup[k]
	}
	return u
}

// worldPIDs groups the world's processes: "cassandra <region>" for each
// region's nodes, "rest of the world" for the others.
func worldPIDs(ctx context.Context, c topology.Cluster) (map[string][]int, error) {
	comps, err := c.Components(ctx)
	if err != nil {
		return nil, err
	}
	groups := map[string][]int{}
	for _, s := range comps {
		if s.PID <= 0 {
			continue
		}
		g := "rest of the world"
		if s.Kind == topology.KindCassandra {
			g = "cassandra " + s.Region
		}
		groups[g] = append(groups[g], s.PID)
	}
	return groups, nil
}

func sampleCPU(groups map[string][]int) cpuSample {
	s := cpuSample{at: time.Now(), byGroup: map[string]float64{}}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.client = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	for g, pids := range groups {
		for _, pid := range pids {
			s.byGroup[g] += procCPUSeconds(pid)
		}
	}
	s.machine = machineBusySeconds()
	return s
}

func tvSeconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// clockTicks is the kernel's USER_HZ, the unit of /proc CPU times.
const clockTicks = 100

// procCPUSeconds reads a process's user and system time from /proc/<pid>/stat.
func procCPUSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces: the fields start after its ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	// Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the name.
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// machineBusySeconds is the CPU time every core spent busy (not idle, not
// waiting for I/O), from /proc/stat.
func machineBusySeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var total float64
	for i, x := range f[1:] {
		v, _ := strconv.ParseFloat(x, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		total += v
	}
	return total / clockTicks
}

// plainWriteLoop is the baseline: the driver, a session pinned to the
// region, the check's table and write (harness.WriteReplicationRecords:
// the same statement, the same batches), conc goroutines writing n records,
// nothing else.
func plainWriteLoop(ctx context.Context, c topology.Cluster, region string, n, conc, batch int, cl gocql.Consistency) (time.Duration, int64, error) {
	ks := c.Spec().Cassandra.Keyspace
	s, err := topology.RegionSession(c, region, ks)
	if err != nil {
		return 0, 0, err
	}
	defer topology.CloseSession(s)
	if err := s.Query(harness.ReplicationSchema(ks, harness.ReplicationTable)).ExecContext(ctx); err != nil {
		return 0, 0, err
	}
	insert := harness.ReplicationInsert(ks, harness.ReplicationTable)
	run := fmt.Sprintf("baseline-%d", time.Now().UnixNano())
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
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
				if err := harness.WriteReplicationRecords(ctx, s, insert, run, first, count, cl); err != nil {
					failed.Add(int64(count))
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), failed.Load(), ctx.Err()
}

// backgroundLoad starts the workload the check runs under (same rate,
// through the director), so that the plain loop writes under it too.
func backgroundLoad(ctx context.Context, c topology.Cluster, rate float64, seed uint64) (stop func(), err error) {
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
		Pacer: workload.Constant(rate), Members: 200, Seed: seed})
	if err != nil {
		return nil, err
	}
	if err := wl.Start(ctx); err != nil {
		return nil, err
	}
	return func() { _, _ = wl.Stop() }, nil
}

// cassandraCores is the CPU the world's Cassandra nodes use over d, in cores.
func cassandraCores(ctx context.Context, groups map[string][]int, d time.Duration) float64 {
	sum := func() float64 {
		t := 0.0
		for g, pids := range groups {
			if strings.HasPrefix(g, "cassandra ") {
				for _, pid := range pids {
					t += procCPUSeconds(pid)
				}
			}
		}
		return t
	}
	a, start := sum(), time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	return (sum() - a) / time.Since(start).Seconds()
}

// quiesce waits until the Cassandra nodes are back near their idle CPU use
// (the other region has applied what was replicated to it, flushes are
// done), so that no run pays for the one before; it gives up after limit.
func quiesce(ctx context.Context, w io.Writer, groups map[string][]int, idle float64, limit time.Duration) {
	start := time.Now()
	threshold := idle + 0.15
	for {
		c := cassandraCores(ctx, groups, 2*time.Second)
		if c <= threshold || ctx.Err() != nil {
			fmt.Fprintf(w, "  world quiet after %s (Cassandra at %.2f cores)\n", time.Since(start).Round(time.Second), c)
			return
		}
		if time.Since(start) > limit {
			fmt.Fprintf(w, "  world still busy after %s (Cassandra at %.2f cores, idle %.2f); going on\n", limit, c, idle)
			return
		}
	}
}

type benchRow struct {
	name   string
	use    cpuUse
	writes time.Duration
	rate   float64
	failed int64
}

func benchReplication(cmd *cobra.Command, cluster *local.Remote, f replicationFlags, o scenarios.ReplicationOptions, baselines int) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	groups, err := worldPIDs(ctx, cluster)
	if err != nil {
		return err
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(out, "machine: %d cores, %s, %s; load average at start %s\n", runtime.NumCPU(), memTotal(), osName(),
		strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	fmt.Fprintf(out, "world %s (%s): %d Cassandra nodes\n", cluster.Name(), cluster.Spec().Name, len(groups["cassandra "+o.From])+len(groups["cassandra "+o.To]))
	fmt.Fprintf(out, "%d records, %d to a write, %d writes in flight, written in %s at %s, read in %s at %s %s after each write;\n",
		o.Records, max(1, o.Batch), o.Concurrency, o.From, o.WriteConsistency, o.To, o.ReadConsistency, o.ReadAfter)
	fmt.Fprintf(out, "the plain loops and the check all run under the background load of %g operations/s through the director\n", o.Load)

	idle := cassandraCores(ctx, groups, 3*time.Second)
	fmt.Fprintf(out, "Cassandra at rest: %.2f cores; before each run the bench waits until it is back near that\n\n", idle)
	settle := func() { quiesce(ctx, cmd.ErrOrStderr(), groups, idle, 90*time.Second) }
	var rows []benchRow
	baseline := func(name string) error {
		settle()
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: plain driver loop writing %d records under the background load...\n", name, o.Records)
		stop, err := backgroundLoad(ctx, cluster, o.Load, f.seed)
		if err != nil {
			return err
		}
		before := sampleCPU(groups)
		took, failed, err := plainWriteLoop(ctx, cluster, o.From, o.Records, o.Concurrency, o.Batch, o.WriteConsistency)
		stop()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		row := benchRow{name: name, use: before.until(sampleCPU(groups)), writes: took,
			rate: float64(int64(o.Records)-failed) / took.Seconds(), failed: failed}
		rows = append(rows, row)
		row.print(cmd.ErrOrStderr())
		return nil
	}
	if baselines > 0 {
		if err := baseline("plain loop (before)"); err != nil {
			return err
		}
	}
	settle()
	fmt.Fprintf(cmd.ErrOrStderr(), "replication check of %d records...\n", o.Records)
	o.Progress = replicationProgressPrinter(cmd.ErrOrStderr(), f.progressInterval)
	before := sampleCPU(groups)
	outcome, dir, err := runReplicationCheck(cmd, cluster, o, f.out, f.seed, f.replay(cluster.Name(), f.seed), f.noReset)
	if err != nil {
		return err
	}
	use := before.until(sampleCPU(groups))
	sum, err := history.LoadReplication(dir)
	if err != nil {
		return fmt.Errorf("the check left no summary: %w", err)
	}
	check := benchRow{name: "replication check", use: use, writes: time.Duration(sum.WriteSeconds * float64(time.Second)),
		rate: sum.WriteRate, failed: int64(sum.WriteErrors)}
	rows = append(rows, check)
	check.print(cmd.ErrOrStderr())
	if baselines > 1 {
		if err := baseline("plain loop (after)"); err != nil {
			return err
		}
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	names := groupNames(groups)
	head := "\twall\twriting\twrites/s\tfailed\tclient CPU"
	for _, g := range names {
		head += "\t" + g + " CPU"
	}
	fmt.Fprintln(tw, head+"\tmachine busy\t")
	for _, r := range rows {
		line := fmt.Sprintf("%s\t%s\t%s\t%.0f\t%d\t%s", r.name, r.use.wall.Round(100*time.Millisecond), r.writes.Round(100*time.Millisecond),
			r.rate, r.failed, cores(r.use.client, r.use.wall))
		for _, g := range names {
			line += "\t" + cores(r.use.byGroup[g], r.use.wall)
		}
		fmt.Fprintln(tw, line+"\t"+cores(r.use.machine, r.use.wall)+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "(CPU as core-seconds and, in brackets, the average number of cores busy over the wall time)")

	var baseRate float64
	n := 0
	for _, r := range rows {
		if r.name != check.name {
			baseRate += r.rate
			n++
		}
	}
	if n > 0 {
		baseRate /= float64(n)
		fmt.Fprintf(out, "\nwrite rate: replication check %.0f/s, plain loop %.0f/s (mean of %d): ratio %.3f (target >= 0.9)\n", check.rate, baseRate, n, check.rate/baseRate)
	}
	fmt.Fprintf(out, "replication check wall time: %s (target <= 3m for 1,000,000 records)\n", check.use.wall.Round(100*time.Millisecond))
	printCheckPhases(out, dir, check.use.wall)
	fmt.Fprintf(out, "replication check: %s%s\n", strings.ToUpper(string(outcome.Status)), reasonSuffix(outcome))
	printReplicationSummary(out, dir)
	fmt.Fprintf(out, "artifacts: %s\n", dir)
	return nil
}

// print says at once what a run measured, so that a long bench that is
// stopped keeps the runs it finished.
func (r benchRow) print(w io.Writer) {
	fmt.Fprintf(w, "  %s: wall %s, writing %s, %.0f writes/s, %d failed; CPU: client %s, machine %s",
		r.name, r.use.wall.Round(100*time.Millisecond), r.writes.Round(100*time.Millisecond), r.rate, r.failed,
		cores(r.use.client, r.use.wall), cores(r.use.machine, r.use.wall))
	groups := make([]string, 0, len(r.use.byGroup))
	for g := range r.use.byGroup {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		fmt.Fprintf(w, ", %s %s", g, cores(r.use.byGroup[g], r.use.wall))
	}
	fmt.Fprintln(w)
}

func groupNames(groups map[string][]int) []string {
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	return names
}

func cores(sec float64, wall time.Duration) string {
	if wall <= 0 {
		return fmt.Sprintf("%.1fs", sec)
	}
	return fmt.Sprintf("%.1fs (%.2f)", sec, sec/wall.Seconds())
}

// printCheckPhases prints how long each phase of the check took, from its
// history; what is left of the wall time went to the reports.
func printCheckPhases(w io.Writer, dir string, wall time.Duration) {
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

// osName is the PRETTY_NAME of /etc/os-release.
func osName() string {
	fl, err := os.Open("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	defer fl.Close()
	sc := bufio.NewScanner(fl)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}
