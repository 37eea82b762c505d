package local

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/kongchaos/kong/topology"
)

// Status writes the world's owner and control address, its components with
// each one's pid and health, and its links (see topology.WriteStatus).
func (b *Backend) Status(ctx context.Context, w io.Writer, world string) error {
	st, err := ReadState(b.Home, world)
	if err != nil {
		return err
	}
	r, err := Attach(b.Home, world)
	if err != nil {
		return err
	}
	comps, _ := r.Components(ctx)
	title := fmt.Sprintf("world %s (%s), status %s, owner pid %d, toxiproxy %s, control %s",
		world, st.Source, st.Status, st.OwnerPID, r.ToxiproxyAPI(), st.Control)
	return topology.WriteStatus(w, title, comps, [2]string{"PID", "HEALTH"}, func(c topology.Status) [2]string {
		pid := "-"
		if c.PID > 0 {
			pid = strconv.Itoa(c.PID)
		}
		return [2]string{pid, Health(ctx, c)}
	})
}
