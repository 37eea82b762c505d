package worldrun

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A closed terminal or SSH session sends SIGHUP: a run (kong run, kong
// replication-check) must take it as SIGTERM, ending its context so that
// the runner heals and writes its reports, instead of dying on the spot.
func TestSIGHUPEndsARunsContext(t *testing.T) {
	ctx, stop := StopContext(context.Background())
	defer stop()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not end the run's context")
	}
}
