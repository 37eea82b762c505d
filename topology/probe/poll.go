package probe

import (
	"context"
	"time"
)

// Poll asks check until it is satisfied or ctx ends: each try within
// tryTimeout, pause apart. It returns nil once check returns nil, or else
// check's last answer once ctx has ended (context.Cause(ctx) says why).
// The caller words the error: what it waited for, and for how long.
func Poll(ctx context.Context, tryTimeout, pause time.Duration, check func(context.Context) error) error {
	for {
		tctx, cancel := context.WithTimeout(ctx, tryTimeout)
		last := check(tctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(pause):
		}
	}
}
