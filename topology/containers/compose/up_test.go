package compose

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kongchaos/kong/internal/containersetup"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/containers/images"
	"github.com/stretchr/testify/require"
)

// TestComposeUp brings the repository's docker-compose.yml up with docker
// compose, on the images a container world would run (kong images env),
// checks that the director and both gateways answer, and that `docker
// compose down -v` leaves nothing of world kong. It needs a Docker engine
// and Compose v2 or later: $KONG_COMPOSE (make builds one into its cache,
// as Debian's engine has none), else the docker compose plugin. It skips,
// saying why, without them.
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
	composeCmd := []string{"docker", "compose"}
	if c := os.Getenv("KONG_COMPOSE"); c != "" {
		composeCmd = []string{c}
	}
	if out, err := exec.Command(composeCmd[0], append(composeCmd[1:], "version")...).CombinedOutput(); err != nil {
		if len(composeCmd) == 1 {
			t.Fatalf("KONG_COMPOSE=%s does not run (%v: %s)", composeCmd[0], err, out)
		}
		t.Skipf("docker compose is not installed (docker compose version: %v: %s); make test builds one (KONG_COMPOSE)", err, out)
	}
	// The images kong images list shows: kong's own where no official one
	// is in the engine. The kong image is used as built, not built again
	// from the Dockerfile (its golang base is pulled from a registry).
	choices, err := containersetup.Chosen(ctx)
	require.NoError(t, err)
	env := os.Environ()
	build := false
	for _, c := range choices {
		env = append(env, images.Env[c.Role]+"="+c.Image)
		if !c.Present {
			if c.Role != images.RoleKong {
				t.Skipf("the engine has no image for %s (%s): run kong images build", c.Role, c.Image)
			}
			build = true
		}
	}
	if left, err := containers.Leftovers(ctx, cli, "kong"); err != nil || len(left) > 0 {
		t.Skipf("world kong is on the engine already (%v %v): this test would take it down", left, err)
	}
	wd, _ := os.Getwd()
	root := containers.BuildContext(wd)
	require.NotEmpty(t, root)
	file := filepath.Join(root, "docker-compose.yml")
	compose := func(ctx context.Context, args ...string) ([]byte, error) {
		argv := append(append(slices.Clone(composeCmd[1:]), "-f", file), args...)
		cmd := exec.CommandContext(ctx, composeCmd[0], argv...)
		cmd.Dir = root
		cmd.Env = env
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
	up := []string{"up", "-d"}
	if build {
		up = append(up, "--build")
	}
	out, err := compose(uctx, up...)
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
