package progress

import (
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/kongchaos/kong/topology"
)

// Up draws the start of a world: a bar on stderr when it is a terminal,
// else a line on out at each change of phase or of the number of
// components ready.
func Up(out io.Writer) func(topology.UpProgress) {
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	var bar *progressbar.ProgressBar
	lastPhase, lastReady := "", -1
	return func(p topology.UpProgress) {
		if bar == nil {
			bar = progressbar.DefaultSilent(-1)
			if tty {
				bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("starting"),
					progressbar.OptionShowCount(), progressbar.OptionSetElapsedTime(true), progressbar.OptionClearOnFinish())
			}
		}
		if p.Done {
			_ = bar.Finish()
			return
		}
		if p.Total > 0 && bar.GetMax() != p.Total {
			bar.ChangeMax(p.Total)
		}
		if !tty && (p.Phase != lastPhase || p.Ready != lastReady) {
			fmt.Fprintf(out, "  %5.1fs  %-16s %s\n", p.Elapsed.Seconds(), p.Phase, upCount(p))
		}
		lastPhase, lastReady = p.Phase, p.Ready
		bar.Describe(fmt.Sprintf("%-16s", p.Phase))
		_ = bar.Set(p.Ready)
	}
}

// upCount says how many components are ready, or, before the components
// are known (the assets phase: java, the jars, memcached), what is checked.
func upCount(p topology.UpProgress) string {
	if p.Total == 0 {
		return "checking java, the cached jars and memcached"
	}
	return fmt.Sprintf("%d/%d ready", p.Ready, p.Total)
}
