package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/appconfig"
)

// The reference application runs from the kong binary, one process per
// instance (`kong serve member|gateway|director --config FILE`), each with a
// JSON configuration the world writes from its plan (appconfig.File).

// writeConfig stores an application component's configuration and returns
// its path.
func (w *World) writeConfig(c topology.Component) (string, error) {
	data, err := appconfig.File(w.Plan(), c, w.secret)
	if err != nil {
		return "", err
	}
	dir := w.nodeDir(c.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "config.json")
	// 0600: it holds the world's secret.
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("write configuration of %s: %w", c.ID, err)
	}
	return path, nil
}

// Deploy restarts member service instance id on release r: it writes the
// release beside the instance's configuration, stops the instance
// gracefully, and starts it again, waiting until it answers. It is one step
// of a rolling deploy (harness/deploy).
func (w *World) Deploy(ctx context.Context, id string, r member.Release) error {
	if _, ok := w.procs[id]; !ok {
		return w.unknown(id)
	}
	if _, kind, _, err := topology.ParseID(id); err != nil || kind != topology.KindMember {
		return fmt.Errorf("component %s is not a member service instance: only those take releases", id)
	}
	if err := member.WriteReleaseBeside(filepath.Join(w.nodeDir(id), "config.json"), r); err != nil {
		return fmt.Errorf("deploy %s to %s: %w", r.Version, id, err)
	}
	if err := w.Stop(ctx, id); err != nil {
		return fmt.Errorf("deploy %s to %s: stop: %w", r.Version, id, err)
	}
	if err := w.startComponent(ctx, id); err != nil {
		return fmt.Errorf("deploy %s to %s: start: %w", r.Version, id, err)
	}
	return nil
}
