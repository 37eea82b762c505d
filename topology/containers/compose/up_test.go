package compose

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kongchaos/kong/topology/containers"
	"github.com/stretchr/testify/require"
)

// TestComposeUp brings the repository's docker-compose.yml up with docker
// compose, checks that the director and both gateways answer, and that
// `docker compose down -v` leaves nothing of world kong. It needs a Docker
// engine and the compose plugin, and skips, saying why, without them.
func TestComposeUp(t *testing.T) {
	if testing.Short() {
		t.Skip("brings up the default world with docker compose; skipped with -short")
	}
	ctx := context.Background()
	cli, err := containers.Connect(ctx)
	if err != nil {
		t.Skip(err.Error())
	}
	defer cli.Close()
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
		t.Skipf("docker compose is not installed (docker compose version: %v: %s)", err, out)
	}
	if left, err := containers.Leftovers(ctx, cli, "kong"); err != nil || len(left) > 0 {
		t.Skipf("world kong is on the engine already (%v %v): this test would take it down", left, err)
	}
	wd, _ := os.Getwd()
	root := containers.BuildContext(wd)
	require.NotEmpty(t, root)
	file := filepath.Join(root, "docker-compose.yml")
	compose := func(ctx context.Context, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "docker", append([]string{"compose", "-f", file}, args...)...)
		cmd.Dir = root
		return cmd.CombinedOutput()
	}
	t.Cleanup(func() {
		out, err := compose(context.Background(), "down", "-v", "--remove-orphans")
		require.NoError(t, err, "%s", out)
		left, err := containers.Leftovers(ctx, cli, "kong")
		require.NoError(t, err)
		require.Empty(t, left, "docker compose down -v left things of world kong")
	})
	uctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	out, err := compose(uctx, "up", "-d", "--build")
	require.NoError(t, err, "docker compose up: %s", out)
	// Members start once setup has completed; the gateways and the director
	// once the members run.
	for _, url := range []string{"http://127.0.0.1:8053/healthz", "http://127.0.0.1:8000/healthz", "http://127.0.0.1:8001/healthz"} {
		require.Eventually(t, func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 15*time.Minute, 2*time.Second, "%s never answered", url)
	}
}
