package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// The engine's own reaper (testcontainers' Ryuk) runs from an image that
// only a registry serves. kong's reaper is a host process instead: it
// holds one end of a pipe whose other end the process that owns a world
// keeps open, and when that end closes (the owner ended, however it
// ended: done, killed, timed out) it removes what is left of the world.

// ReapTimeout bounds the removal after the owner ended.
const ReapTimeout = 2 * time.Minute

// disarm is the byte an owner writes to let its reaper go without
// removing anything: its world was never made (another owner's world of
// that name was already on the engine, say).
const disarm = 'd'

// ReapOnEOF reads r to its end, then removes world's containers, networks
// and volumes (DownWorld), unless the owner disarmed it first. A world
// already down is no error.
func ReapOnEOF(r io.Reader, world string) error {
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			if b == disarm {
				return nil
			}
		}
		if err != nil {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), ReapTimeout)
	defer cancel()
	if err := DownWorld(ctx, world); err != nil && !errors.Is(err, ErrNotUp) {
		return fmt.Errorf("reap world %s: %w", world, err)
	}
	return nil
}

// Reaper is a running reaper of one world.
type Reaper struct {
	hold *os.File
	cmd  *exec.Cmd
}

// StartReaper starts `kong serve container-reaper --world world` (kong
// being the executable at bin) in a session of its own, so that a Ctrl-C
// or a kill of the owner's process group does not end it first.
//
// Its output goes to logFile: not to the owner's, which a test runner
// would otherwise wait on until the reaper is done.
func StartReaper(bin, world, logFile string) (*Reaper, error) {
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("the reaper's log: %w", err)
	}
	defer log.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "container-reaper", "--world", world)
	cmd.Stdin = r
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("start the reaper of world %s: %w", world, err)
	}
	r.Close()
	return &Reaper{hold: w, cmd: cmd}, nil
}

// Disarm lets the reaper go without removing anything, for an owner whose
// world was never made; Disarm waits for it to end.
func (r *Reaper) Disarm() error {
	if r == nil {
		return nil
	}
	_, _ = r.hold.Write([]byte{disarm})
	return r.Release()
}

// Release lets the reaper go: it removes what is left of the world (if
// anything) and ends; Release waits for it.
func (r *Reaper) Release() error {
	if r == nil || r.cmd == nil {
		return nil
	}
	r.hold.Close()
	err := r.cmd.Wait()
	r.cmd = nil
	return err
}
