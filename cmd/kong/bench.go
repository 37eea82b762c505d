package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
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
			bench.MeasureStartup(ctx, w, time.Since(start)).Write(out)
			fmt.Fprintf(out, "\nlatency added by a toxiproxy link with no toxics (%d round trips each):\n", rounds)
			echo, err := bench.Echo(w.ToxiproxyAPI(), rounds)
			if err != nil {
				return err
			}
			echo.Write(out)
			regions := spec.RegionNames()
			if len(regions) < 2 {
				return nil
			}
			from, to := regions[0], regions[1]
			direct, via, err := bench.SQSLink(ctx, w, from, to, rounds/10)
			if err != nil {
				return err
			}
			bench.WriteLatency(out, "sqs ListQueues direct", direct, nil)
			bench.WriteLatency(out, "sqs via "+topology.LinkName(from, to), via, direct)
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().IntVar(&rounds, "rounds", 5000, "round trips per latency measurement")
	return cmd
}

func newBenchMember() *cobra.Command {
	var sf specFlags
	var keys, workers int
	cmd := &cobra.Command{
		Use:   "member",
		Short: "Member service reads served from cache vs from Cassandra: requests per second and p99 of each",
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := sf.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			w, done, err := bench.World(cmd.Context(), "bench-member", spec, benchLog())
			defer done(out)
			if err != nil {
				return err
			}
			reads, err := bench.Members(cmd.Context(), w, spec.Regions[0].Name, keys, workers, out)
			if err != nil {
				return err
			}
			reads.Write(out)
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().IntVar(&keys, "members", 5000, "members written, then read twice")
	cmd.Flags().IntVar(&workers, "clients", 16, "concurrent clients")
	return cmd
}
