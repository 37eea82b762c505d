package assets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/kongchaos/kong/topology"
)

// CqlshVersion is the cqlsh that kong cqlsh runs: Apache Cassandra 5.0's
// own cqlsh, as its project publishes it on PyPI.
const CqlshVersion = "6.2.2"

// EnsureCqlsh returns the cqlsh executable: $KONG_CQLSH when set, else the
// one in the cache (cqlsh-VERSION, a Python virtual environment),
// installing it there from PyPI when it is missing, after a line on out
// that says so. Python 3 and its venv module come from apt-get when
// missing. A failed install leaves no half-made environment behind.
func EnsureCqlsh(ctx context.Context, out io.Writer, log *slog.Logger) (string, error) {
	if p := os.Getenv("KONG_CQLSH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("KONG_CQLSH=%s: %w", p, err)
		}
		return p, nil
	}
	cache, unlock, err := lockCache(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	dir := filepath.Join(cache, "cqlsh-"+CqlshVersion)
	bin := filepath.Join(dir, "bin", "cqlsh")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if os.Getenv("KONG_NO_INSTALL") != "" {
		return "", fmt.Errorf("cqlsh is not installed (KONG_NO_INSTALL is set, so kong installs nothing): pip install cqlsh==%s and set KONG_CQLSH to it", CqlshVersion)
	}
	venv := func() error {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		o, err := exec.CommandContext(ctx, "python3", "-m", "venv", dir).CombinedOutput()
		if err != nil {
			return fmt.Errorf("python3 -m venv %s: %w: %s", dir, err, topology.LastLines(o, 5))
		}
		return nil
	}
	fmt.Fprintf(out, "cqlsh is missing: installing cqlsh %s from PyPI into %s\n", CqlshVersion, dir)
	if err := venv(); err != nil {
		// Debian's python3 lacks venv without python3-venv; a fresh
		// machine may have no python3 at all.
		if ierr := installPackage(ctx, out, "python3-venv", "Python 3 with its venv module", log); ierr != nil {
			return "", errors.Join(err, ierr)
		}
		if err := venv(); err != nil {
			return "", err
		}
	}
	pip := exec.CommandContext(ctx, filepath.Join(dir, "bin", "pip"), "install", "-q", "--disable-pip-version-check", "cqlsh=="+CqlshVersion)
	if o, err := pip.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("install cqlsh %s from PyPI into %s: %w: %s\ninstall it by hand (pip install cqlsh==%s) and set KONG_CQLSH to it",
			CqlshVersion, dir, err, topology.LastLines(o, 10), CqlshVersion)
	}
	return bin, nil
}
