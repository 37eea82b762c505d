package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// SourceTree finds kong's source tree (the folder whose go.mod names this
// module) at dir or above; "" when there is none.
func SourceTree(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		mod, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.Contains(string(mod), "module github.com/kongchaos/kong\n") {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// KongBinary is the kong executable the kong image holds: built from the
// source tree (a static binary, with the Go toolchain's build cache) into
// dir when there is one, else this program when it is kong.
func KongBinary(ctx context.Context, source, dir string) (string, error) {
	if source != "" {
		return goBuild(ctx, source, filepath.Join(dir, "kong"), "./cmd/kong", "")
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this program's executable for the kong image: %w", err)
	}
	if filepath.Base(self) != "kong" {
		return "", fmt.Errorf("the kong image holds the kong executable, and %s is not kong and no kong source tree is around the working folder: run from the source tree, or set KONG_IMAGE to an image of kong", self)
	}
	return self, nil
}

// ToxiproxyBinary builds the toxiproxy server of the version kong embeds
// (its module is one of kong's) from the source tree into dir.
func ToxiproxyBinary(ctx context.Context, source, dir string) (string, error) {
	if source == "" {
		return "", fmt.Errorf("the toxiproxy image is built from toxiproxy %s's module, which kong's source tree requires: run kong images build in the source tree", ToxiproxyVersion)
	}
	return goBuild(ctx, source, filepath.Join(dir, "toxiproxy-"+ToxiproxyVersion), "github.com/Shopify/toxiproxy/v2/cmd/server",
		"-X github.com/Shopify/toxiproxy/v2.Version="+ToxiproxyVersion)
}

func goBuild(ctx context.Context, source, out, pkg, ldflags string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w "+ldflags, "-o", out, pkg)
	cmd.Dir = source
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (in %s): %w\n%s", pkg, source, err, strings.TrimSpace(string(o)))
	}
	return out, nil
}
