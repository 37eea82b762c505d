// Package kongbin finds the kong binary for tests and benchmarks: $KONG_BIN
// when set, else one built once per process from this module.
package kongbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

var (
	once  sync.Once
	path  string
	built error
)

// Path returns the kong binary, building it on first use.
func Path() (string, error) {
	once.Do(func() {
		if p := os.Getenv("KONG_BIN"); p != "" {
			if _, err := os.Stat(p); err != nil {
				built = fmt.Errorf("KONG_BIN=%s: %w", p, err)
			}
			path = p
			return
		}
		dir, err := os.MkdirTemp("", "kong-bin-")
		if err != nil {
			built = err
			return
		}
		path = filepath.Join(dir, "kong")
		cmd := exec.Command("go", "build", "-o", path, "github.com/kongchaos/kong/cmd/kong")
		if out, err := cmd.CombinedOutput(); err != nil {
			built = fmt.Errorf("go build kong: %w\n%s", err, out)
		}
	})
	return path, built
}
