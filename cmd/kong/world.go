package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/local"
)

type specFlags struct {
	profile string
	file    string
	// publish is --publish-address, on the commands that bring a world up.
	publish string
}

func (f *specFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.profile, "profile", "default", "embedded topology profile: "+strings.Join(topology.Profiles(), ", "))
	cmd.Flags().StringVar(&f.file, "topology", "", "topology YAML file (overrides --profile)")
}

// registerPublish adds --publish-address to a command that brings a world
// up.
func (f *specFlags) registerPublish(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.publish, publishFlag, containers.DefaultPublishAddress().String(),
		"with --backend containers: the host address the containers' ports are published on (0.0.0.0: every interface)")
}

const publishFlag = "publish-address"

// publishAddress is --publish-address ("" for the default).
func (f *specFlags) publishAddress() (netip.Addr, error) {
	if f.publish == "" {
		return containers.DefaultPublishAddress(), nil
	}
	a, err := netip.ParseAddr(f.publish)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("--%s %q: not an IP address (such as 127.0.0.1, or 0.0.0.0 for every interface)", publishFlag, f.publish)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("--%s %q: give an address without a zone", publishFlag, f.publish)
	}
	return a.Unmap(), nil
}

// load reads the topology; a bad file or profile is bad input (exit 2).
func (f *specFlags) load() (*topology.Spec, error) {
	var spec *topology.Spec
	var err error
	if f.file != "" {
		spec, err = topology.Load(f.file)
	} else {
		spec, err = topology.Profile(f.profile)
	}
	return spec, usage(err)
}

func (f *specFlags) args() []string {
	if f.file != "" {
		abs, _ := filepath.Abs(f.file)
		return []string{"--topology", abs}
	}
	return []string{"--profile", f.profile}
}

func worldFlag(cmd *cobra.Command) string {
	v, _ := cmd.Flags().GetString("world")
	return v
}

func homeFlag(cmd *cobra.Command) string {
	v, _ := cmd.Flags().GetString("home")
	if v == "" {
		return local.Home()
	}
	return v
}

func daemonLog(home, world string) string {
	return filepath.Join(home, "worlds", world+".log")
}

func newUp() *cobra.Command {
	var sf specFlags
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring up a world of real servers; returns when every one is ready",
		Long: `Bring up a world: per region a Cassandra datacenter (one JVM per node, zones are racks),
memcached per zone, an ElasticMQ SQS endpoint, and toxiproxy links between the regions.
The first run fetches what is missing, saying so first: the jars with Maven into ~/.cache/kong (or
$KONG_CACHE), memcached with apt-get, as kong setup does (KONG_NO_INSTALL=1: it names what is missing
and stops instead).
Ctrl-C while it starts stops everything it started.
With --backend containers (or KONG_BACKEND=containers) the same world runs as Docker containers.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := backendOf(cmd)
			if err != nil {
				return err
			}
			spec, err := sf.load()
			if err != nil {
				return err
			}
			return b.up(cmd, worldFlag(cmd), sf, spec, timeout)
		},
	}
	sf.register(cmd)
	sf.registerPublish(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up when the world is not ready after this long")
	return cmd
}

func up(cmd *cobra.Command, world, home string, spec *topology.Spec, specArgs []string, timeout time.Duration) error {
	out := cmd.OutOrStdout()
	if st, err := local.ReadState(home, world); err == nil {
		if _, aerr := local.Attach(home, world); aerr == nil {
			return fmt.Errorf("world %s is already up (status %s, owner pid %d): use it, or run `kong down --world %s` first",
				world, st.Status, st.OwnerPID, world)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := local.PrepareHome(home); err != nil {
		return err
	}
	// kong up fetches what is missing and says so first, as kong setup does:
	// jars with Maven into the user's cache, memcached with apt-get
	// (KONG_NO_INSTALL=1: name it and stop instead). The world's owner
	// itself never installs anything.
	if missing, cache, err := local.JarsToFetch(spec.Cassandra.Version, spec.SQS.ElasticMQVersion); err == nil && len(missing) > 0 {
		fmt.Fprintf(out, "first fetching %s with Maven into %s\n", strings.Join(missing, " and "), cache)
	}
	if _, err := local.SetupAssets(cmd.Context(), spec.Cassandra.Version, spec.SQS.ElasticMQVersion, out,
		slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))); err != nil {
		return err
	}
	logPath := daemonLog(home, world)
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("owner log %s: %w", logPath, err)
	}
	defer logf.Close()
	args := append([]string{"serve", "world", "--world", world, "--home", home, "--timeout", timeout.String()}, specArgs...)
	daemon := exec.Command(self, args...)
	daemon.Stdout, daemon.Stderr = logf, logf
	daemon.Env = append(os.Environ(), "KONG_WORLD_DIR="+local.StateDir(home, world))
	daemon.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start := time.Now()
	if err := daemon.Start(); err != nil {
		return fmt.Errorf("start the world's owner process: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, stopSignals...)
	defer signal.Stop(sigs)
	deadline := time.After(timeout)

	fmt.Fprintf(out, "bringing up world %s (%s, %d regions); log: %s\n", world, spec.Source(), len(spec.Regions), logPath)
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("starting"),
		progressbar.OptionShowCount(), progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish())
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		bar = progressbar.DefaultSilent(-1)
	}
	lastPhase, lastReady := "", -1
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	stopWorld := func(why string) error {
		_ = bar.Finish()
		fmt.Fprintf(out, "%s: stopping everything world %s started\n", why, world)
		// Tell the owner first (it may not have written any state yet), then
		// sweep whatever is left by its marks.
		_ = daemon.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = daemon.Process.Kill()
			<-exited
		}
		if err := local.DownWorld(home, world, 10*time.Second); err != nil && !errors.Is(err, local.ErrNotUp) {
			fmt.Fprintln(out, "down:", err)
		}
		return fmt.Errorf("world %s did not come up: %s", world, why)
	}
	for {
		select {
		case <-sigs:
			return stopWorld("interrupted")
		case <-deadline:
			st, _ := local.ReadState(home, world)
			what := "unknown"
			if st != nil {
				what = fmt.Sprintf("phase %q, %d of %d components ready", st.Phase, st.Ready, st.Total)
			}
			return stopWorld(fmt.Sprintf("not ready after %s (%s); see %s", timeout, what, logPath))
		case err := <-exited:
			_ = bar.Finish()
			return fmt.Errorf("world %s did not come up: %s (exit: %v); log: %s", world, failure(logPath), err, logPath)
		case <-tick.C:
			st, err := local.ReadState(home, world)
			if err != nil {
				continue
			}
			if st.Total > 0 && bar.GetMax() != st.Total {
				bar.ChangeMax(st.Total)
			}
			if !term.IsTerminal(int(os.Stderr.Fd())) && (st.Phase != lastPhase || st.Ready != lastReady) {
				fmt.Fprintf(out, "  %5.1fs  %-16s %d/%d ready\n", time.Since(start).Seconds(), st.Phase, st.Ready, st.Total)
			}
			lastPhase, lastReady = st.Phase, st.Ready
			bar.Describe(fmt.Sprintf("%-16s", st.Phase))
			_ = bar.Set(st.Ready)
			if st.Status == "ready" {
				_ = bar.Finish()
				fmt.Fprintf(out, "world %s is ready in %s\n", world, time.Since(start).Round(100*time.Millisecond))
				for _, p := range st.Phases {
					fmt.Fprintf(out, "  %-16s %s\n", p.Phase, p.Duration.Round(10*time.Millisecond))
				}
				return printStatus(cmd.Context(), out, home, world)
			}
		}
	}
}

// failure finds the reason the owner printed before it gave up.
func failure(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return "its owner exited"
	}
	defer f.Close()
	reason := "its owner exited"
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "FAILED: ") {
			reason = strings.TrimPrefix(line, "FAILED: ")
		}
	}
	return reason
}

func newDown() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop every process of a world and remove its state (also after a crash)",
		Long: `Take a world down: every process it started (local backend), or every container, network
and volume (containers backend). With --all, every world of the backend.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := backendOf(cmd)
			if err != nil {
				return err
			}
			worlds := []string{worldFlag(cmd)}
			if all {
				if worlds, err = b.worlds(cmd.Context()); err != nil {
					return err
				}
			}
			var errs []error
			for _, w := range worlds {
				err := b.down(cmd.Context(), w, 60*time.Second)
				switch {
				case errors.Is(err, errNotUp):
					fmt.Fprintf(cmd.OutOrStdout(), "world %s is not up: nothing to do\n", w)
				case err != nil:
					errs = append(errs, err)
				default:
					fmt.Fprintf(cmd.OutOrStdout(), "world %s is down\n", w)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "take down every world of the backend (local: under the home folder)")
	return cmd
}

func newStatus() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show every component of a world: region, zone, address, pid, health",
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := backendOf(cmd)
			if err != nil {
				return err
			}
			return b.status(cmd.Context(), cmd.OutOrStdout(), worldFlag(cmd))
		},
	}
}

func printStatus(ctx context.Context, out io.Writer, home, world string) error {
	st, err := local.ReadState(home, world)
	if err != nil {
		return err
	}
	r, err := local.Attach(home, world)
	if err != nil {
		return err
	}
	comps, _ := r.Components(ctx)
	fmt.Fprintf(out, "world %s (%s), status %s, owner pid %d, toxiproxy %s, control %s\n",
		world, st.Source, st.Status, st.OwnerPID, r.ToxiproxyAPI(), st.Control)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tZONE\tCOMPONENT\tADDRESS\tPID\tHEALTH")
	for _, c := range comps {
		pid := "-"
		if c.PID > 0 {
			pid = fmt.Sprint(c.PID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(c.Region), dash(c.Zone), c.ID, c.Address, pid, local.Health(ctx, c))
	}
	tw.Flush()
	fmt.Fprintln(out, "links:")
	for _, l := range r.Links() {
		fmt.Fprintf(out, "  %-24s %d proxies\n", l.Name, len(l.Proxies))
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newLogs() *cobra.Command {
	var lines int
	cmd := &cobra.Command{
		Use:   "logs COMPONENT",
		Short: "Print a component's log (Cassandra's system.log, the console log of others)",
		Example: `  kong logs us-east-1/cassandra/a
  kong logs toxiproxy -n 0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := backendOf(cmd)
			if err != nil {
				return err
			}
			return b.logs(cmd.Context(), cmd.OutOrStdout(), worldFlag(cmd), args[0], lines)
		},
	}
	cmd.Flags().IntVarP(&lines, "lines", "n", 200, "print the last N lines (0 for all)")
	return cmd
}

func printTail(out io.Writer, path string, n int) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no log yet at %s", path)
	}
	if err != nil {
		return err
	}
	ls := strings.SplitAfter(string(data), "\n")
	if n > 0 && len(ls) > n+1 {
		ls = ls[len(ls)-n-1:]
	}
	_, err = io.WriteString(out, strings.Join(ls, ""))
	return err
}

var componentActions = []struct{ name, short string }{
	{"start", "Start a stopped component and wait until it answers"},
	{"stop", "Stop a component gracefully (SIGTERM)"},
	{"kill", "Kill a component at once (SIGKILL)"},
	{"pause", "Freeze a component (SIGSTOP): there but silent"},
	{"resume", "Thaw a paused component (SIGCONT)"},
}

func newComponentAction(a struct{ name, short string }) *cobra.Command {
	return &cobra.Command{
		Use:   a.name + " COMPONENT",
		Short: a.short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := backendOf(cmd)
			if err != nil {
				return err
			}
			r, release, err := b.attach(cmd.Context(), worldFlag(cmd))
			if err != nil {
				return err
			}
			defer release()
			ops := map[string]func(context.Context, string) error{
				"start": r.Start, "stop": r.Stop, "kill": r.Kill, "pause": r.Pause, "resume": r.Resume,
			}
			if err := ops[a.name](cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s done\n", args[0], a.name)
			return nil
		},
	}
}
