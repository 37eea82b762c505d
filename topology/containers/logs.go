package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/kongchaos/kong/topology"
)

// Logs writes the output of a component's container (stdout and stderr;
// Cassandra's image logs there) to out: the last lines lines, or all of it
// when lines is 0. It reads the engine, so it works on a world another
// process brought up.
func (w *World) Logs(ctx context.Context, id string, lines int, out io.Writer) error {
	c, err := findContainer(w.name, w.cs, id)
	if err != nil {
		return err
	}
	return w.containerLogs(ctx, c, logsOptions(lines), out)
}

// logsOptions asks the engine for the last lines of a container's output
// (all of it when lines <= 0).
func logsOptions(lines int) client.ContainerLogsOptions {
	o := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true}
	if lines > 0 {
		o.Tail = strconv.Itoa(lines)
	}
	return o
}

func (w *World) containerLogs(ctx context.Context, c Container, o client.ContainerLogsOptions, out io.Writer) error {
	rc, err := w.cli.ContainerLogs(ctx, c.Name, o)
	if err != nil {
		if isNotFound(err) {
			return fmt.Errorf("%s: container %s is gone (the world was taken down?)", c.ID, c.Name)
		}
		return fmt.Errorf("logs of %s (container %s): %w", c.ID, c.Name, err)
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(out, out, rc)
	return err
}

// CopyLogs copies the end (at most maxBytes) of every component
// container's output into dir, one file per component named as the local
// backend names them (topology.LogFileName). It is how a run's artifacts
// get the logs of a container world (run.LogCopier).
func (w *World) CopyLogs(ctx context.Context, dir string, maxBytes int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, c := range w.cs {
		if c.ID == "" {
			continue
		}
		t := &tailBuffer{max: int(maxBytes)}
		if err := w.containerLogs(ctx, c, logsOptions(0), t); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, topology.LogFileName(c.ID)), t.Bytes(c.Name), 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max     int
	buf     []byte
	dropped int64
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if t.max <= 0 {
		t.dropped += int64(n)
		return n, nil
	}
	if len(p) >= t.max {
		t.dropped += int64(len(t.buf) + len(p) - t.max)
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.dropped += int64(over)
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// Bytes is what was kept, starting at a whole line, with a first line that
// says how much was left out of what (when anything was).
func (t *tailBuffer) Bytes(what string) []byte {
	if t.dropped == 0 {
		return t.buf
	}
	rest := t.buf
	for i, b := range rest {
		if b == '\n' {
			t.dropped += int64(i + 1)
			rest = rest[i+1:]
			break
		}
	}
	head := fmt.Sprintf("[kong: the first %d bytes of %s's output are left out]\n", t.dropped, what)
	return append([]byte(head), rest...)
}
