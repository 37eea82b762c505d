package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/local"
)

// Backends: where a world runs.
const (
	backendLocal      = "local"
	backendContainers = "containers"
)

// backendFlag is the root's --backend: every command that brings up, finds
// or takes down a world asks it where.
func backendFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().String("backend", envOr("KONG_BACKEND", backendLocal),
		"where worlds run: local (processes on this machine) or containers (Docker, with testcontainers-go); default $KONG_BACKEND, else local")
}

func checkBackend(b string) error {
	if b != backendLocal && b != backendContainers {
		return fmt.Errorf("unknown backend %q: the backends are local and containers", b)
	}
	return nil
}

// worldBackend is what the commands need of a backend.
type worldBackend interface {
	// name is the backend's name, as --backend spells it.
	name() string
	// attach finds a world that is up. release lets go of it; the world
	// stays up.
	attach(ctx context.Context, world string) (c topology.Cluster, release func(), err error)
	// up brings a world up and leaves it running; a failed or interrupted
	// start removes everything it made.
	up(cmd *cobra.Command, world string, sf specFlags, spec *topology.Spec, timeout time.Duration) error
	// down removes a world; errNotUp when there was nothing to remove.
	down(ctx context.Context, world string, grace time.Duration) error
	// status prints a world's components and links.
	status(ctx context.Context, out io.Writer, world string) error
	// logs prints the end of a component's log.
	logs(ctx context.Context, out io.Writer, world, id string, lines int) error
	// worlds lists the backend's worlds.
	worlds(ctx context.Context) ([]string, error)
	// command spells a kong command on one of the backend's worlds:
	// command("down", "w") is "kong down --world w" on the local backend.
	command(verb, world string) string
	// runLockPath is the file whose lock a run holds on a world that is up
	// (see lockWorld), its folder made.
	runLockPath(world string) (string, error)
}

// errNotUp says a world has nothing to take down.
var errNotUp = errors.New("world is not up")

// backendOf is the backend the command's --backend (or $KONG_BACKEND) names.
func backendOf(cmd *cobra.Command) (worldBackend, error) {
	b, _ := cmd.Flags().GetString("backend")
	if b == "" {
		b = backendLocal
	}
	if err := checkBackend(b); err != nil {
		return nil, usage(err)
	}
	if b == backendContainers {
		return containersBackend{home: homeFlag(cmd)}, nil
	}
	return localBackend{home: homeFlag(cmd)}, nil
}

// needWorld adds to an attach error the command that brings the world up.
func needWorld(err error, command, world string, b worldBackend, profile string) error {
	up := b.command("up", world)
	if profile != "" {
		up += " --profile " + profile
	}
	return fmt.Errorf("%w\n(%s needs a world: `%s`)", err, command, up)
}

// localBackend runs worlds as processes on this machine, owned by a
// `kong serve world` process and found through their state under home.
type localBackend struct{ home string }

func (localBackend) name() string { return backendLocal }

func (b localBackend) attach(_ context.Context, world string) (topology.Cluster, func(), error) {
	r, err := local.Attach(b.home, world)
	if err != nil {
		return nil, nil, err
	}
	return r, func() {}, nil
}

func (b localBackend) up(cmd *cobra.Command, world string, sf specFlags, spec *topology.Spec, timeout time.Duration) error {
	if f := cmd.Flags().Lookup(publishFlag); f != nil && f.Changed {
		return usage(fmt.Errorf("--%s is for the container backend (--backend containers): the local backend's servers listen on loopback addresses only", publishFlag))
	}
	return up(cmd, world, b.home, spec, sf.args(), timeout)
}

func (b localBackend) down(_ context.Context, world string, grace time.Duration) error {
	err := local.DownWorld(b.home, world, grace)
	if errors.Is(err, local.ErrNotUp) {
		return fmt.Errorf("%w: %w", errNotUp, err)
	}
	return err
}

func (b localBackend) status(ctx context.Context, out io.Writer, world string) error {
	return printStatus(ctx, out, b.home, world)
}

func (b localBackend) logs(_ context.Context, out io.Writer, world, id string, lines int) error {
	st, err := local.ReadState(b.home, world)
	if err != nil {
		return err
	}
	var ids []string
	for _, c := range st.Components {
		ids = append(ids, c.ID)
		if c.ID == id {
			return printTail(out, c.Log, lines)
		}
	}
	return fmt.Errorf("unknown component %q: the components are %s", id, strings.Join(ids, ", "))
}

func (b localBackend) worlds(context.Context) ([]string, error) { return local.Worlds(b.home), nil }

func (localBackend) command(verb, world string) string { return "kong " + verb + " --world " + world }

// runLockPath: the lock lives in the world's state folder, and goes with it.
func (b localBackend) runLockPath(world string) (string, error) {
	return local.RunLockPath(b.home, world), nil
}

// containersBackend runs worlds as Docker containers; any process that
// reaches the engine finds them by their labels. home holds only their run
// locks.
type containersBackend struct{ home string }

func (containersBackend) name() string { return backendContainers }

// engineError says what to do when no engine answers.
func engineError(err error) error {
	return fmt.Errorf("%w; start Docker (or point DOCKER_HOST at an engine), or use the local backend: --backend local", err)
}

func (containersBackend) attach(ctx context.Context, world string) (topology.Cluster, func(), error) {
	// Finding a world starts nothing: no reaper either.
	containers.KeepWorlds()
	if err := containers.CheckEngine(ctx); err != nil {
		return nil, nil, engineError(err)
	}
	w, err := containers.Attach(ctx, world, containers.Options{Images: containers.ImagesFromEnv()})
	if err != nil {
		return nil, nil, err
	}
	return w, func() { _ = w.Close() }, nil
}

func (containersBackend) up(cmd *cobra.Command, world string, sf specFlags, spec *topology.Spec, timeout time.Duration) error {
	publish, err := sf.publishAddress()
	if err != nil {
		return usage(err)
	}
	return upContainers(cmd, world, spec, publish, timeout)
}

func (containersBackend) down(ctx context.Context, world string, _ time.Duration) error {
	containers.KeepWorlds()
	if err := containers.CheckEngine(ctx); err != nil {
		return engineError(err)
	}
	err := containers.DownWorld(ctx, world)
	if errors.Is(err, containers.ErrNotUp) {
		return fmt.Errorf("%w: %w", errNotUp, err)
	}
	return err
}

func (b containersBackend) status(ctx context.Context, out io.Writer, world string) error {
	c, release, err := b.attach(ctx, world)
	if err != nil {
		return err
	}
	defer release()
	return printContainerWorld(ctx, out, c.(*containers.World))
}

func (b containersBackend) logs(ctx context.Context, out io.Writer, world, id string, lines int) error {
	c, release, err := b.attach(ctx, world)
	if err != nil {
		return err
	}
	defer release()
	return c.(*containers.World).Logs(ctx, id, lines, out)
}

func (containersBackend) worlds(ctx context.Context) ([]string, error) {
	containers.KeepWorlds()
	if err := containers.CheckEngine(ctx); err != nil {
		return nil, engineError(err)
	}
	return containers.Worlds(ctx)
}

func (containersBackend) command(verb, world string) string {
	return "kong " + verb + " --backend containers --world " + world
}

// runLockPath: a container world has no state folder on this machine, so
// its run lock is a file under the kong home named by backend and world.
// It guards runs started from this machine (and this home), which is where
// the engine that runs the world is.
func (b containersBackend) runLockPath(world string) (string, error) {
	if err := local.PrepareHome(b.home); err != nil {
		return "", err
	}
	dir := filepath.Join(b.home, "runs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return filepath.Join(dir, backendContainers+"-"+world+".lock"), nil
}

// printContainerWorld prints a container world's components, with each
// one's container and state, and its links.
func printContainerWorld(ctx context.Context, out io.Writer, w *containers.World) error {
	comps, err := w.Components(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "world %s (containers), toxiproxy %s\n", w.Name(), w.ToxiproxyAPI())
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tZONE\tCOMPONENT\tADDRESS\tCONTAINER\tSTATE")
	for _, c := range comps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(c.Region), dash(c.Zone), c.ID, c.Address, containers.ContainerName(w.Name(), c.ID), c.State)
	}
	tw.Flush()
	fmt.Fprintln(out, "links:")
	for _, l := range w.Links() {
		fmt.Fprintf(out, "  %-24s %d proxies\n", l.Name, len(l.Proxies))
	}
	return nil
}

// localOnly refuses a command that measures this machine's processes on
// another backend.
func localOnly(cmd *cobra.Command, command string) error {
	b, err := backendOf(cmd)
	if err != nil {
		return err
	}
	if b.name() != backendLocal {
		return fmt.Errorf("%s measures the world's processes on this machine (their CPU from /proc): it runs on the local backend only, not on %s", command, b.name())
	}
	return nil
}
