package containers

import (
	"context"
	"fmt"
	"io"

	"github.com/kongchaos/kong/topology"
)

// Status writes the world's components with each one's container and
// state, and its links (see topology.WriteStatus).
func (b *Backend) Status(ctx context.Context, w io.Writer, world string) error {
	c, release, err := b.Attach(ctx, world)
	if err != nil {
		return err
	}
	defer release()
	return c.(*World).WriteStatus(ctx, w)
}

// WriteStatus writes the world's components with each one's container and
// state, and its links.
func (w *World) WriteStatus(ctx context.Context, out io.Writer) error {
	comps, err := w.Components(ctx)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("world %s (containers), toxiproxy %s", w.Name(), w.ToxiproxyAPI())
	return topology.WriteStatus(out, title, comps, [2]string{"CONTAINER", "STATE"}, func(c topology.Status) [2]string {
		return [2]string{ContainerName(w.Name(), c.ID), string(c.State)}
	})
}
