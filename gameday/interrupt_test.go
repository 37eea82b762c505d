package gameday

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/internal/syncbuf"
)

// A closed terminal or SSH session sends SIGHUP: the first one stops it cleanly, a second one
// does not cut the healing short.
func TestSIGHUPEndsAGameDaysContext(t *testing.T) {
	var out syncbuf.Buffer
	ctx, stop := InterruptContext(context.Background(), &out, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not end the game day's context")
	}
	require.Contains(t, context.Cause(ctx).Error(), "hangup")
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "still healing") }, 5*time.Second, 10*time.Millisecond)
	require.Contains(t, out.String(), "hangup: stopping; the current scenario heals its faults and writes its reports first")
}
