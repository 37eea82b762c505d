package gameday

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// InterruptContext is ctx ended by the first of sigs (kong gameday: Ctrl-C,
// SIGTERM, SIGHUP), which says on out that the game day stops once the
// current scenario healed its faults and wrote its reports; later signals
// are ignored until stop, so that healing and report writing finish.
func InterruptContext(ctx context.Context, out io.Writer, sigs ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	got := make(chan os.Signal, 1)
	signal.Notify(got, sigs...)
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case <-done:
				return
			case sig := <-got:
				if first {
					fmt.Fprintf(out, "\n%s: stopping; the current scenario heals its faults and writes its reports first\n", sig)
					cancel(fmt.Errorf("%s", sig))
					first = false
				} else {
					fmt.Fprintf(out, "\n%s: still healing and writing reports; kong exits when they are done\n", sig)
				}
			}
		}
	}()
	return ctx, func() {
		signal.Stop(got)
		close(done)
		cancel(nil)
	}
}
