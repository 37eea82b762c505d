package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

func newBench() *cobra.Command {
	bench := &cobra.Command{Use: "bench", Short: "Measure kong against its targets, each beside a baseline from the same run",
		// The benchmarks read the world's processes from /proc.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return localOnly(cmd, cmd.CommandPath()) }}
	bench.AddCommand(newBenchWorld(), newBenchMember(), newBenchReplication())
	return bench
}

func benchLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// benchWorld brings a world up in a temporary home for a benchmark; done
// takes it down and removes the home, reporting a failed teardown on out.
func benchWorld(ctx context.Context, name string, spec *topology.Spec) (*local.World, func(io.Writer), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, func(io.Writer) {}, err
	}
	home, err := os.MkdirTemp("", "kong-bench-")
	if err != nil {
		return nil, func(io.Writer) {}, err
	}
	w, err := local.Up(ctx, local.Options{Name: name, Spec: spec, Home: home, KongBinary: self, Log: benchLog()})
	return w, func(out io.Writer) {
		if derr := w.Down(); derr != nil {
			fmt.Fprintln(out, "down:", derr)
		}
		os.RemoveAll(home)
	}, err
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
			if _, err := local.EnsureAssets(cmd.Context(), spec.Cassandra.Version, spec.SQS.ElasticMQVersion, log); err != nil {
				return err
			}
			fmt.Fprintf(out, "machine: %s, %d cores, %s\n", runtime.GOARCH, runtime.NumCPU(), memTotal())
			start := time.Now()
			w, done, err := benchWorld(cmd.Context(), "bench-"+spec.Name, spec)
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
				rss := rssBytes(c.PID)
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
			if err := benchEcho(out, w.ToxiproxyAPI(), rounds); err != nil {
				return err
			}
			return benchSQSLink(ctx, out, w, rounds/10)
		},
	}
	sf.register(cmd)
	cmd.Flags().IntVar(&rounds, "rounds", 5000, "round trips per latency measurement")
	return cmd
}

// benchEcho times 64-byte round trips to an echo server, directly and
// through a new toxiproxy proxy in front of it.
func benchEcho(out io.Writer, api string, rounds int) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	client := toxiclient.NewClient(api)
	proxy, err := client.CreateProxy("bench.echo", "127.0.0.1:0", l.Addr().String())
	if err != nil {
		return fmt.Errorf("create bench proxy: %w", err)
	}
	defer proxy.Delete()
	// A Cassandra link is a link router (which reads the handshake) in front
	// of the proxy: measure that path too, with a synthetic handshake.
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	routerAddr := rl.Addr().String()
	rl.Close()
	sender := net.IPv4(127, 0, 0, 9)
	rctx, stopRouter := context.WithCancel(context.Background())
	defer stopRouter()
	go func() {
		_ = local.ServeRoutes(rctx, []local.Route{{Listen: routerAddr, BySource: map[string]string{sender.String(): proxy.Listen}}},
			slog.New(slog.DiscardHandler))
	}()
	time.Sleep(100 * time.Millisecond)
	measure := func(addr string) ([]time.Duration, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		if addr == routerAddr {
			hs := local.Handshake(sender, 7000)
			if _, err := c.Write(hs); err != nil {
				return nil, err
			}
			if _, err := io.ReadFull(c, make([]byte, len(hs))); err != nil {
				return nil, err
			}
		}
		buf := make([]byte, 64)
		lat := make([]time.Duration, 0, rounds)
		for i := 0; i < rounds; i++ {
			t := time.Now()
			if _, err := c.Write(buf); err != nil {
				return nil, err
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(t))
		}
		return lat, nil
	}
	direct, via, err := alternate(measure, l.Addr().String(), proxy.Listen)
	if err != nil {
		return err
	}
	_, routed, err := alternate(measure, l.Addr().String(), routerAddr)
	if err != nil {
		return err
	}
	printLatency(out, "tcp echo direct", direct, nil)
	printLatency(out, "tcp echo via link proxy", via, direct)
	printLatency(out, "tcp echo via link router + proxy", routed, direct)
	return nil
}

// benchSQSLink times ListQueues on a region's SQS endpoint, directly and
// through the link another region's invalidations take.
func benchSQSLink(ctx context.Context, out io.Writer, w *local.World, rounds int) error {
	regions := w.Spec().RegionNames()
	if len(regions) < 2 {
		return nil
	}
	from, to := regions[0], regions[1]
	measure := func(endpoint string) ([]time.Duration, error) {
		c := local.SQSClient(endpoint, to)
		lat := make([]time.Duration, 0, rounds)
		for i := 0; i < rounds; i++ {
			t := time.Now()
			if _, err := c.ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
				return nil, err
			}
			lat = append(lat, time.Since(t))
		}
		return lat, nil
	}
	direct, via, err := alternate(measure, w.SQSEndpoint(to, to), w.SQSEndpoint(from, to))
	if err != nil {
		return err
	}
	printLatency(out, "sqs ListQueues direct", direct, nil)
	printLatency(out, "sqs via "+topology.LinkName(from, to), via, direct)
	return nil
}

// alternate warms both paths up, then measures them in turns (A B A B) so
// that neither gets the benefit of running second.
func alternate(measure func(string) ([]time.Duration, error), a, b string) (la, lb []time.Duration, err error) {
	for round := 0; round < 3; round++ {
		for i, target := range []string{a, b} {
			l, err := measure(target)
			if err != nil {
				return nil, nil, err
			}
			if round == 0 {
				continue // warm-up
			}
			if i == 0 {
				la = append(la, l...)
			} else {
				lb = append(lb, l...)
			}
		}
	}
	return la, lb, nil
}

func printLatency(out io.Writer, name string, lat, base []time.Duration) {
	p := func(l []time.Duration, q float64) time.Duration {
		s := append([]time.Duration(nil), l...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[int(q*float64(len(s)-1))]
	}
	line := fmt.Sprintf("  %-34s p50 %8s  p99 %8s", name, p(lat, 0.5).Round(time.Microsecond), p(lat, 0.99).Round(time.Microsecond))
	if base != nil {
		line += fmt.Sprintf("   added p50 %8s  p99 %8s", (p(lat, 0.5) - p(base, 0.5)).Round(time.Microsecond),
			(p(lat, 0.99) - p(base, 0.99)).Round(time.Microsecond))
	}
	fmt.Fprintln(out, line)
}

// rssBytes reads a process's resident set size.
func rssBytes(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "memory unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return "memory unknown"
}
