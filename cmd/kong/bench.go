package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/bench"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local/assets"
)

func newBench() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure kong against its targets, each beside a baseline from the same run",
		// The benchmarks read the world's processes from /proc.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return localOnly(cmd, cmd.CommandPath()) }}
	cmd.AddCommand(newBenchWorld(), newBenchMember(), newBenchReplication())
	return cmd
}

func benchLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func newBenchWorld() *cobra.Command {
	var sf specFlags
	var rounds int
	cmd := &cobra.Command{
		Use:   "world",
		Short: "Start-up time per phase, resident memory, and the latency a toxiproxy link adds",
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := sf.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			// Fetch first, so that the start-up below measures servers, not downloads.
			log := benchLog()
			if _, err := assets.Ensure(cmd.Context(), spec.Cassandra.Version, spec.SQS.ElasticMQVersion, log); err != nil {
				return err
			}
			fmt.Fprintf(out, "machine: %s, %d cores, %s\n", runtime.GOARCH, runtime.NumCPU(), bench.MemTotal())
			start := time.Now()
			w, done, err := bench.World(cmd.Context(), "bench-"+spec.Name, spec, log)
			defer done(out)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			took := time.Since(start)
			comps, _ := w.Components(ctx)
			fmt.Fprintf(out, "\nstart-up of %s (%d components, jars cached): %s\n", spec.Source(), len(comps), took.Round(10*time.Millisecond))
			for _, p := range w.Phases() {
				fmt.Fprintf(out, "  %-16s %s\n", p.Phase, p.Duration.Round(10*time.Millisecond))
			}

			fmt.Fprintf(out, "\nresident memory right after start-up:\n")
			byKind := map[string]int64{}
			var total int64
			for _, c := range comps {
				rss := bench.RSSBytes(c.PID)
				byKind[c.Kind] += rss
				total += rss
			}
			kinds := make([]string, 0, len(byKind))
			for k := range byKind {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				fmt.Fprintf(out, "  %-10s %8.0f MiB\n", k, float64(byKind[k])/(1<<20))
			}
			fmt.Fprintf(out, "  %-10s %8.0f MiB\n", "total", float64(total)/(1<<20))

			fmt.Fprintf(out, "\nlatency added by a toxiproxy link with no toxics (%d round trips each):\n", rounds)
			echo, err := bench.Echo(w.ToxiproxyAPI(), rounds)
			if err != nil {
				return err
			}
			printLatency(out, "tcp echo direct", echo.Direct, nil)
			printLatency(out, "tcp echo via link proxy", echo.Proxy, echo.Direct)
			printLatency(out, "tcp echo via link router + proxy", echo.Routed, echo.Direct)
			regions := spec.RegionNames()
			if len(regions) < 2 {
				return nil
			}
			from, to := regions[0], regions[1]
			direct, via, err := bench.SQSLink(ctx, w, from, to, rounds/10)
			if err != nil {
				return err
			}
			printLatency(out, "sqs ListQueues direct", direct, nil)
			printLatency(out, "sqs via "+topology.LinkName(from, to), via, direct)
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().IntVar(&rounds, "rounds", 5000, "round trips per latency measurement")
	return cmd
}

func printLatency(out io.Writer, name string, lat, base []time.Duration) {
	p := bench.Percentile
	line := fmt.Sprintf("  %-34s p50 %8s  p99 %8s", name, p(lat, 0.5).Round(time.Microsecond), p(lat, 0.99).Round(time.Microsecond))
	if base != nil {
		line += fmt.Sprintf("   added p50 %8s  p99 %8s", (p(lat, 0.5) - p(base, 0.5)).Round(time.Microsecond),
			(p(lat, 0.99) - p(base, 0.99)).Round(time.Microsecond))
	}
	fmt.Fprintln(out, line)
}
