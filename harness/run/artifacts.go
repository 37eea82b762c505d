package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/topology"
)

// LogCopier is a cluster that copies its components' logs itself (a
// backend whose logs are not files on this machine, such as containers).
type LogCopier interface {
	CopyLogs(ctx context.Context, dir string, maxBytes int64) error
}

// maxLogBytes bounds each component log copied into a run's artifacts: the
// end of the log, where a failure is.
const maxLogBytes = 4 << 20

// CollectLogs copies every component's log into dir (one file per
// component, named after its ID), keeping the last maxBytes of each. A
// cluster that implements LogCopier copies them itself; otherwise the
// Status.Log files are read. Missing logs are listed in the error, the
// others are still copied.
func CollectLogs(ctx context.Context, c topology.Cluster, dir string, maxBytes int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if lc, ok := c.(LogCopier); ok {
		return lc.CopyLogs(ctx, dir, maxBytes)
	}
	comps, err := c.Components(ctx)
	if err != nil {
		return fmt.Errorf("list components: %w", err)
	}
	var errs []error
	for _, s := range comps {
		if s.Log == "" {
			continue
		}
		if err := copyTail(s.Log, filepath.Join(dir, topology.LogFileName(s.ID)), maxBytes); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.ID, err))
		}
	}
	return errors.Join(errs...)
}

// copyTail copies the last max bytes of src to dst, starting at a line.
func copyTail(src, dst string, max int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	if st.Size() > max {
		if _, err := in.Seek(st.Size()-max, io.SeekStart); err != nil {
			return err
		}
		fmt.Fprintf(out, "[kong: the first %d bytes of %s are left out]\n", st.Size()-max, src)
		// Drop the partial first line.
		buf := make([]byte, 1)
		for {
			if _, err := in.Read(buf); err != nil || buf[0] == '\n' {
				break
			}
		}
	}
	_, err = io.Copy(out, in)
	return err
}

// PhaseLog is a run's per-phase log (phases.log): one line per phase, fault
// step and stop, with the live traffic at the end of each timed phase.
type PhaseLog struct {
	f     *os.File
	start time.Time
}

func newPhaseLog(path string) *PhaseLog {
	f, err := os.Create(path)
	if err != nil {
		return &PhaseLog{start: time.Now()}
	}
	return &PhaseLog{f: f, start: time.Now()}
}

// Printf adds a line, stamped with the time and the time since the run began.
func (p *PhaseLog) Printf(format string, args ...any) {
	if p == nil || p.f == nil {
		return
	}
	now := time.Now()
	fmt.Fprintf(p.f, "%s +%7.1fs  %s\n", now.UTC().Format("15:04:05.000"), now.Sub(p.start).Seconds(), fmt.Sprintf(format, args...))
}

func (p *PhaseLog) live(l workload.LiveStats) {
	p.Printf("  traffic at the end of the phase: %.1f ops/s (%.1f requested), error rate %.2f%%, shed rate %.2f%%, %d in flight",
		l.OpsPerSec, l.RequestedRate, l.ErrorRate*100, l.ShedRate*100, l.InFlight)
}

func (p *PhaseLog) close() {
	if p != nil && p.f != nil {
		_ = p.f.Close()
	}
}
