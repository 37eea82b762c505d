package containers

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/kongchaos/kong/topology"
)

var _ topology.Repairer = (*World)(nil)

// Repair implements topology.Repairer: nodetool repair --full, run in the
// node's container (over its JMX port, 7199).
func (w *World) Repair(ctx context.Context, id, keyspace string, tables ...string) error {
	c, err := findContainer(w.name, w.cs, id)
	if err != nil {
		return err
	}
	if c.Kind != topology.KindCassandra {
		return fmt.Errorf("repair: %s is not a Cassandra node", id)
	}
	argv := append([]string{"nodetool", "repair", "--full", keyspace}, tables...)
	out, code, err := w.exec(ctx, c.Name, argv)
	if err != nil {
		return fmt.Errorf("repair %s (container %s): %w", id, c.Name, err)
	}
	if code != 0 {
		return fmt.Errorf("repair %s (%s in container %s): exit status %d: %s", id, strings.Join(argv, " "), c.Name, code, topology.LastLines(out, 5))
	}
	return nil
}

// exec runs argv in a running container and returns its output (stdout
// and stderr) and exit status.
func (w *World) exec(ctx context.Context, container string, argv []string) ([]byte, int, error) {
	ex, err := w.cli.ExecCreate(ctx, container, client.ExecCreateOptions{Cmd: argv, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, 0, err
	}
	att, err := w.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, 0, err
	}
	defer att.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, att.Reader); err != nil {
		return out.Bytes(), 0, err
	}
	res, err := w.cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return out.Bytes(), 0, err
	}
	return out.Bytes(), res.ExitCode, nil
}
