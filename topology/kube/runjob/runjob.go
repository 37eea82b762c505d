// Package runjob is the pod side of a kube run Job (kong serve job) and
// what crosses between it and the kong outside: the command's exit status,
// marked in its output; a stop request and a release, as files in its
// reports folder; and the reports, as a tar stream that never lands outside
// its folder.
package runjob

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The files a run Job keeps beside its reports, in its reports folder.
const (
	// StopFile asks the run to stop as Ctrl-C would (kong run heals its
	// faults and writes its reports first).
	StopFile = ".kong-stop"
	// FetchedFile says the reports were copied out: the pod may end.
	FetchedFile = ".kong-fetched"
)

// Side is what the pod of a run Job does (`kong serve job`): it runs
// a kong command (Command) to its end, forwarding SIGTERM (the Job's
// deletion) and a stop request (RequestStop, through exec) to it as
// SIGTERM; prints Marker and the command's exit status on Out; then holds
// its reports (Reports) until they are fetched (Release) or Hold passes,
// and exits with the command's status.
type Side struct {
	Command []string
	Reports string
	Marker  string
	Hold    time.Duration
	Out     io.Writer
	// Every is how often it looks for a stop request or the release (0:
	// 500 ms).
	Every time.Duration
}

// Run runs the command and holds its reports; it returns the command's
// exit status. ctx ending (SIGTERM) stops the command as a stop request
// does, and ends the hold.
func (j Side) Run(ctx context.Context) (int, error) {
	if len(j.Command) == 0 {
		return 0, errors.New("no command to run")
	}
	every := j.Every
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	if err := os.MkdirAll(j.Reports, 0o755); err != nil {
		return 0, err
	}
	cmd := exec.Command(j.Command[0], j.Command[1:]...)
	cmd.Stdout, cmd.Stderr = j.Out, j.Out
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", strings.Join(j.Command, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(every)
	defer tick.Stop()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	// SIGTERM is passed on once; after that the command has its time.
	ended := ctx.Done()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-ended:
			ended = nil
			stop()
		case <-tick.C:
			if _, serr := os.Stat(filepath.Join(j.Reports, StopFile)); serr == nil {
				stop()
			}
		}
	}
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
		// Ended by a signal: the shell's 128 + its number.
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	case err != nil:
		return 0, err
	}
	// On a line of its own, whatever the command's last line lacked.
	fmt.Fprintf(j.Out, "\n%s exit %d\n", j.Marker, code)
	hold := time.NewTimer(j.Hold)
	defer hold.Stop()
	for {
		if _, serr := os.Stat(filepath.Join(j.Reports, FetchedFile)); serr == nil {
			return code, nil
		}
		select {
		case <-ctx.Done():
			return code, nil
		case <-hold.C:
			fmt.Fprintf(j.Out, "nobody fetched the reports within %s: they go with the pod\n", j.Hold)
			return code, nil
		case <-tick.C:
		}
	}
}

// MarkerExit reads the exit status from a log line of a run Job: the
// marker, "exit" and the status; ok is false for any other line.
func MarkerExit(line, marker string) (code int, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(line), marker+" exit ")
	if !found || marker == "" {
		return 0, false
	}
	code, err := strconv.Atoi(rest)
	return code, err == nil
}

// RequestStop asks the run Job whose reports are in dir to stop its run.
func RequestStop(dir string) error { return touch(filepath.Join(dir, StopFile)) }

// Release lets the run Job whose reports are in dir end: they were
// fetched.
func Release(dir string) error { return touch(filepath.Join(dir, FetchedFile)) }

func touch(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// WriteTar writes the folder dir as a tar stream to w: its folders and
// regular files (relative names), without the Job's own files.
func WriteTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." || rel == StopFile || rel == FetchedFile {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() && !info.IsDir() {
			return nil
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		// No end-of-archive: the reader sees a stream cut short, not a
		// complete one missing files.
		return err
	}
	return tw.Close()
}

// ExtractTar writes the folders and regular files of the tar stream r
// under dir (made when missing), and returns the top-level entries it
// wrote. Nothing lands outside dir: an entry named outside it (absolute,
// or through "..") or reached through a symbolic link, a link, or a
// device is refused, and nothing after it is written.
func ExtractTar(r io.Reader, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	var top []string
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return top, nil
		}
		if err != nil {
			return top, fmt.Errorf("reading the reports: %w", err)
		}
		name := filepath.FromSlash(strings.TrimSuffix(h.Name, "/"))
		if !filepath.IsLocal(name) {
			return top, fmt.Errorf("the reports hold %q, which is outside their folder: refused", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(name, 0o755)
		case tar.TypeReg:
			err = writeFile(root, name, tr)
		default:
			return top, fmt.Errorf("the reports hold %q, which is not a file or a folder: refused", h.Name)
		}
		if err != nil {
			return top, fmt.Errorf("writing %s under %s: %w", h.Name, dir, err)
		}
		if first := strings.SplitN(filepath.ToSlash(name), "/", 2)[0]; !seen[first] {
			seen[first] = true
			top = append(top, first)
		}
	}
}

func writeFile(root *os.Root, name string, r io.Reader) error {
	if d := filepath.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}
