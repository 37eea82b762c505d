package progress

import (
	"fmt"
	"io"
	"time"

	"golang.org/x/term"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/replcheck"
)

// Replication prints the replication check's progress on w: one line
// rewritten in place on a terminal, a line every interval (default 10 s)
// otherwise; an interval given prints lines on a terminal too.
func Replication(w io.Writer, interval time.Duration) func(replcheck.Progress) {
	live := false
	if fd, ok := w.(interface{ Fd() uintptr }); ok && interval == 0 {
		live = term.IsTerminal(int(fd.Fd()))
	}
	if interval == 0 {
		interval = 10 * time.Second
	}
	var last replcheck.Progress
	var lastAt, printed time.Time
	return func(p replcheck.Progress) {
		now := time.Now()
		rate, readRate := 0.0, 0.0
		if d := now.Sub(lastAt).Seconds(); !lastAt.IsZero() && d > 0 {
			rate = float64(p.Written-last.Written) / d
			readRate = float64(p.Read-last.Read) / d
		}
		last, lastAt = p, now
		if !live && now.Sub(printed) < interval {
			return
		}
		printed = now
		if live {
			fmt.Fprintf(w, "\r\033[K%s", replicationLine(p, rate, readRate))
			if p.Phase == history.PhaseVerify {
				fmt.Fprintln(w)
			}
			return
		}
		fmt.Fprintln(w, replicationLine(p, rate, readRate))
	}
}

// replicationLine renders p with the write and read rates since the last
// one.
func replicationLine(p replcheck.Progress, rate, readRate float64) string {
	visible := 0.0
	if p.Read > 0 {
		visible = 100 * float64(p.Visible) / float64(p.Read)
	}
	line := fmt.Sprintf("%-8s %6s  written %d/%d (%.0f/s)  read %d (%.0f/s, %.2f%% visible)  late %d",
		p.Phase, p.Elapsed.Round(time.Second), p.Written, p.Records, rate, p.Read, readRate, visible, p.Late)
	if p.WriteErrors > 0 {
		line += fmt.Sprintf("  write errors %d", p.WriteErrors)
	}
	return line
}
