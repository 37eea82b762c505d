// Package flock waits for an exclusive flock(2) on a file, within a
// deadline: how kong serializes the fetches into its cache and the claims
// of world slots across processes.
package flock

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// Wait takes an exclusive flock on f, trying again every 50 ms until ctx
// ends (then it returns the context's cause).
func Wait(ctx context.Context, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil || !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
