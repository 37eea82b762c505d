package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

// lockWorld takes the run lock of a world that is up for the command under
// way, so that no other run (kong run, kong gameday, kong
// replication-check) faults it at the same time. A run in progress makes
// it refuse (exit status 3), naming that run; the lock of a run that was
// killed is free (the kernel let go of it) and is taken over with a note.
// The returned function releases the lock.
func lockWorld(cmd *cobra.Command, b topology.Backend, world string) (func(), error) {
	path, err := local.RunLockPathOf(homeFlag(cmd), b.Name(), world)
	if err != nil {
		return nil, err
	}
	l, err := local.LockRun(path, local.RunHolder{PID: os.Getpid(), Command: commandLine(), Started: time.Now().UTC()})
	if errors.Is(err, local.ErrWorldBusy) {
		return nil, fmt.Errorf("world %s refused: %w; one run at a time: wait until it ends, or stop it (Ctrl-C or SIGTERM: it heals its faults and writes its reports first)", world, err)
	}
	if err != nil {
		return nil, err
	}
	if l.Stale != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "world %s: the run lock of %s was stale (that run ended without letting go of it: killed?); taken over, and the preflight resets what that run left\n", world, l.Stale)
	}
	return func() { _ = l.Release() }, nil
}

// commandLine is this process's command line, as a person would type it.
func commandLine() string {
	return strings.TrimSpace("kong " + strings.Join(os.Args[1:], " "))
}
