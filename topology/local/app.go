package local

import (
	"fmt"
	"os"
	"path/filepath"

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
