package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kongchaos/kong/topology"
)

// BackendName is the container backend's name, as `kong --backend` spells
// it.
const BackendName = "containers"

// Backend runs worlds as Docker containers that outlive the process that
// started them; any process that reaches the engine finds them by their
// labels.
type Backend struct{}

var _ topology.Backend = (*Backend)(nil)

// Name is BackendName.
func (*Backend) Name() string { return BackendName }

// engine turns the testcontainers reaper off (a world this backend brings
// up or finds outlives this process) and checks that an engine answers.
func engine(ctx context.Context) error {
	KeepWorlds()
	if err := CheckEngine(ctx); err != nil {
		return fmt.Errorf("%w; start Docker (or point DOCKER_HOST at an engine), or use the local backend: --backend local", err)
	}
	return nil
}

// Up brings the world up with Keep set: each role's image as
// images.Choose picks it (pulled when the engine lacks it, else an error
// that names `kong images build`), and, unless KONG_IMAGE names one, the
// kong image built from the kong executable of the source tree around the
// working folder. Without an engine it fails at once.
func (b *Backend) Up(ctx context.Context, world string, spec *topology.Spec, o topology.UpOptions) (topology.Started, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if err := engine(ctx); err != nil {
		return topology.Started{}, err
	}
	build := KongBuildContext()
	publish := o.Publish
	if !publish.IsValid() {
		publish = DefaultPublishAddress()
	}
	fmt.Fprintf(out, "bringing up world %s (%s, %d regions) as Docker containers, ports published on %s", world, spec.Source(), len(spec.Regions), publish)
	if build != "" {
		fmt.Fprintf(out, "; kong's image from the kong built in %s", build)
	}
	fmt.Fprintln(out)
	start := time.Now()
	uctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	w, err := Up(uctx, Options{Name: world, Spec: spec, BuildContext: build,
		ReadyTimeout: o.Timeout, PublishAddress: publish, Keep: true, Log: o.Log})
	if err != nil {
		var remove func() error
		if w != nil {
			remove = w.Down
		}
		return topology.Started{}, topology.FailedStart(ctx, uctx, out, world, o.Timeout, err, remove)
	}
	defer w.Close()
	return topology.Started{Took: time.Since(start), Phases: w.Phases()}, nil
}

// Attach finds a world on the engine (starting nothing, no reaper
// either); release closes this process's hold on it.
func (b *Backend) Attach(ctx context.Context, world string) (topology.Cluster, func(), error) {
	if err := engine(ctx); err != nil {
		return nil, nil, err
	}
	w, err := Attach(ctx, world, Options{Images: ImagesFromEnv()})
	if err != nil {
		return nil, nil, err
	}
	return w, func() { _ = w.Close() }, nil
}

// Down is DownWorld; the containers get the engine's own grace.
func (b *Backend) Down(ctx context.Context, world string, _ time.Duration) error {
	if err := engine(ctx); err != nil {
		return err
	}
	err := DownWorld(ctx, world)
	if errors.Is(err, ErrNotUp) {
		return fmt.Errorf("%w: %w", topology.ErrNotUp, err)
	}
	return err
}

// Worlds lists the worlds on the engine.
func (b *Backend) Worlds(ctx context.Context) ([]string, error) {
	if err := engine(ctx); err != nil {
		return nil, err
	}
	return Worlds(ctx)
}

// Logs writes the end of a component's container log.
func (b *Backend) Logs(ctx context.Context, w io.Writer, world, id string, lines int) error {
	c, release, err := b.Attach(ctx, world)
	if err != nil {
		return err
	}
	defer release()
	return c.(*World).Logs(ctx, id, lines, w)
}
