// Package logfile is a log file capped in size, for the console output of
// the servers a local world runs.
package logfile

import (
	"bytes"
	"fmt"
	"os"
	"sync"
)

// Rotating is a log file capped in size: a write that would take it
// past max starts a new file after renaming the old ones (path.1, path.2,
// ... up to path.keep; older ones are dropped). It splits a write at its
// last line end that fits, so that lines are whole in each file whenever
// they arrive whole.
//
// Write never fails: it is fed by the copy of a child's stdout and stderr,
// and an error there would close the pipe and kill the child with SIGPIPE.
// A log that cannot be written loses the text instead (the first error is
// kept, see Err), as a full disk would.
type Rotating struct {
	path string
	max  int64
	keep int
	mu   sync.Mutex
	f    *os.File
	size int64
	err  error
	// closed: the log was closed, later writes are dropped.
	closed bool
}

// Open opens (appends to) the log at path, capped at max bytes, with up
// to keep older files beside it.
func Open(path string, max int64, keep int) (*Rotating, error) {
	if max <= 0 || keep < 0 {
		return nil, fmt.Errorf("log %s: a cap of %d bytes and %d old files? give a positive cap", path, max, keep)
	}
	l := &Rotating{path: path, max: max, keep: keep}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Rotating) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Write implements io.Writer; it always reports len(p) written.
func (l *Rotating) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if l.closed {
		return n, nil
	}
	if l.f == nil {
		// The last rotation could not open a new file: try again.
		if err := l.open(); err != nil {
			l.fail(err)
			return n, nil
		}
	}
	for len(p) > 0 {
		room := l.max - l.size
		if int64(len(p)) <= room {
			l.write(p)
			break
		}
		// Fill the file up to the last line end that fits; a file still
		// empty takes what fits even without one.
		cut := max(room, 0)
		if i := bytes.LastIndexByte(p[:cut], '\n'); i >= 0 {
			cut = int64(i) + 1
		} else if l.size > 0 {
			cut = 0
		}
		l.write(p[:cut])
		p = p[cut:]
		l.rotate()
		switch {
		case l.f == nil:
			return n, nil // lost: no file to write to
		case l.size > 0:
			// The old text could be neither moved nor cleared: keep it
			// rather than rotate again and again.
			l.write(p)
			return n, nil
		}
	}
	return n, nil
}

func (l *Rotating) write(p []byte) {
	if l.f == nil || len(p) == 0 {
		return
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	l.fail(err)
}

func (l *Rotating) fail(err error) {
	if err != nil && l.err == nil {
		l.err = err
	}
}

// rotate renames the log to .1 (and each older one a number up), dropping
// the oldest, and starts a new one. When a rename fails the current file
// is truncated instead, so the cap holds.
func (l *Rotating) rotate() {
	if l.f != nil {
		l.fail(l.f.Close())
		l.f = nil
	}
	renamed := l.keep > 0
	if renamed {
		for i := l.keep - 1; i >= 1; i-- {
			if err := os.Rename(fmt.Sprintf("%s.%d", l.path, i), fmt.Sprintf("%s.%d", l.path, i+1)); err != nil && !os.IsNotExist(err) {
				l.fail(err)
			}
		}
		if err := os.Rename(l.path, l.path+".1"); err != nil && !os.IsNotExist(err) {
			l.fail(err)
			renamed = false
		}
	}
	if !renamed {
		if err := os.Truncate(l.path, 0); err != nil && !os.IsNotExist(err) {
			l.fail(err)
		}
	}
	l.fail(l.open())
}

// Err is the first error met writing, rotating or closing the log.
func (l *Rotating) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close closes the current file.
func (l *Rotating) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
