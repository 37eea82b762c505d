package main

import (
	"bytes"
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
	ctx, stop := stopContext(context.Background())
	defer stop()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not end the run's context")
	}
}

// The same for a game day: the first SIGHUP stops it cleanly, a second one
// does not cut the healing short.
func TestSIGHUPEndsAGameDaysContext(t *testing.T) {
	var out syncBuffer
	ctx, stop := interruptContext(context.Background(), &out)
	defer stop()
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not end the game day's context")
	}
	require.Contains(t, context.Cause(ctx).Error(), "hangup")
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return bytes.Contains([]byte(out.String()), []byte("still healing")) }, 5*time.Second, 10*time.Millisecond)
	require.Contains(t, out.String(), "hangup: stopping; the current scenario heals its faults and writes its reports first")
}
