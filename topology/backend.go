package topology

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"
)

// Backend runs worlds: topology/local as processes on this machine, owned
// by a `kong serve world` process; topology/containers as Docker
// containers; topology/kube as objects on a Kubernetes cluster. A command
// picks one by name and needs nothing else of it.
type Backend interface {
	// Name is the backend's name: "local", "containers" or "kubernetes".
	Name() string
	// Up brings a world up from spec and leaves it running after this
	// process is gone. A failed or interrupted (ctx) start removes
	// everything it made.
	Up(ctx context.Context, world string, spec *Spec, o UpOptions) (Started, error)
	// Attach finds a world that is up. release lets go of it; the world
	// stays up.
	Attach(ctx context.Context, world string) (c Cluster, release func(), err error)
	// Down removes a world, giving its servers grace to stop; ErrNotUp
	// when there was nothing to remove.
	Down(ctx context.Context, world string, grace time.Duration) error
	// Worlds lists the backend's worlds.
	Worlds(ctx context.Context) ([]string, error)
	// Logs writes the last lines (0: all) of a component's log to w.
	Logs(ctx context.Context, w io.Writer, world, id string, lines int) error
	// Status writes the world's components, each with what the backend
	// knows of it, and its links, as kong status prints them.
	Status(ctx context.Context, w io.Writer, world string) error
}

// ErrNotUp says a world has nothing to take down.
var ErrNotUp = errors.New("world is not up")

// UpOptions say how Backend.Up goes about a start.
type UpOptions struct {
	// Timeout bounds the start: a world not ready by then is removed.
	Timeout time.Duration
	// Out is where Up says what it does: what it fetches first, what it
	// removes after a failed start (nil: nowhere).
	Out io.Writer
	// Log receives the backend's own log lines while it starts (nil:
	// none).
	Log *slog.Logger
	// Progress, when set, is told a few times a second how far the start
	// is, and once with Done before Up returns. The container backend
	// logs its progress on Log instead.
	Progress func(UpProgress)
	// Publish is the host address the container backend publishes the
	// world's ports on (the zero address: its default, 127.0.0.1). The
	// local backend's servers listen on loopback addresses only: it
	// ignores Publish.
	Publish netip.Addr
}

// UpProgress is how far the start of a world is.
type UpProgress struct {
	// Elapsed is the time since the start began; Phase the one under way.
	Elapsed time.Duration
	Phase   string
	// Ready of Total components answer.
	Ready, Total int
	// Done says the start is over, ready or not.
	Done bool
}

// Started is how a start went: the time until every component was ready,
// and how long each phase took.
type Started struct {
	Took   time.Duration
	Phases []PhaseTime
}

// Command spells a kong command on one of b's worlds: Command(b, "down", "w")
// is "kong down --world w" on the local backend, and names the backend on
// any other.
func Command(b Backend, verb, world string) string {
	if b.Name() == "local" {
		return "kong " + verb + " --world " + world
	}
	return "kong " + verb + " --backend " + b.Name() + " --world " + world
}

// NeedWorld adds to an error attaching world the command that brings it up
// (with profile, when one is named): command needs the world.
func NeedWorld(err error, command, world string, b Backend, profile string) error {
	up := Command(b, "up", world)
	if profile != "" {
		up += " --profile " + profile
	}
	return fmt.Errorf("%w\n(%s needs a world: `%s`)", err, command, up)
}

// DownWorlds takes each of worlds down on b, each with grace, and says on
// out what became of it: down, or not up (nothing to do). It returns the
// errors of the worlds that could not be taken down.
func DownWorlds(ctx context.Context, b Backend, worlds []string, grace time.Duration, out io.Writer) error {
	var errs []error
	for _, w := range worlds {
		err := b.Down(ctx, w, grace)
		switch {
		case errors.Is(err, ErrNotUp):
			fmt.Fprintf(out, "world %s is not up: nothing to do\n", w)
		case err != nil:
			errs = append(errs, err)
		default:
			fmt.Fprintf(out, "world %s is down\n", w)
		}
	}
	return errors.Join(errs...)
}

// FailedStart is the error of a start of world that failed with err,
// after removing what it made (remove, when it made anything), saying
// so on out. ctx is the caller's context (done: the start was
// interrupted) and uctx the start's own, bounded by timeout (past its
// deadline: the world was not ready in time).
func FailedStart(ctx, uctx context.Context, out io.Writer, world string, timeout time.Duration, err error, remove func() error) error {
	why := err.Error()
	switch {
	case ctx.Err() != nil:
		why = "interrupted"
	case errors.Is(uctx.Err(), context.DeadlineExceeded):
		why = fmt.Sprintf("not ready after %s: %v", timeout, err)
	}
	if remove != nil {
		fmt.Fprintf(out, "%s: removing everything world %s made\n", why, world)
		if derr := remove(); derr != nil {
			fmt.Fprintln(out, "down:", derr)
		}
	}
	return fmt.Errorf("world %s did not come up: %s", world, why)
}
