package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// EngineTimeout bounds the first question to the Docker engine: without an
// engine the backend fails fast instead of hanging.
const EngineTimeout = 10 * time.Second

// ErrNoEngine means no Docker engine answered.
var ErrNoEngine = errors.New("no Docker engine answers")

// EngineAddress is where the engine is looked for first, for messages:
// $DOCKER_HOST, else the default socket (testcontainers also tries the
// docker CLI's context, ~/.testcontainers.properties and rootless sockets).
func EngineAddress() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// Connect finds the Docker engine the way testcontainers does and checks
// that it answers within EngineTimeout. The error wraps ErrNoEngine and
// reads "no Docker engine answers at ADDRESS: REASON".
func Connect(ctx context.Context) (*testcontainers.DockerClient, error) {
	ctx, cancel := context.WithTimeout(ctx, EngineTimeout)
	defer cancel()
	type result struct {
		cli *testcontainers.DockerClient
		err error
	}
	done := make(chan result, 1)
	go func() {
		cli, err := testcontainers.NewDockerClientWithOpts(ctx)
		if err == nil {
			if _, perr := cli.Ping(ctx, client.PingOptions{}); perr != nil {
				cli.Close()
				cli, err = nil, perr
			}
		}
		done <- result{cli, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("%w at %s: %s", ErrNoEngine, EngineAddress(), engineReason(r.err))
		}
		return r.cli, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w at %s: no answer within %s", ErrNoEngine, EngineAddress(), EngineTimeout)
	}
}

// CheckEngine says whether a Docker engine answers (nil) or why not.
func CheckEngine(ctx context.Context) error {
	cli, err := Connect(ctx)
	if err != nil {
		return err
	}
	return cli.Close()
}

// engineReason is why no engine answered, on one line.
func engineReason(err error) string {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
	if strings.HasSuffix(msg, "rootless Docker not found") && !strings.Contains(msg, "check host") {
		// testcontainers looked everywhere and found no socket at all.
		return "no DOCKER_HOST, no socket at /var/run/docker.sock, no docker context and no rootless socket (" + msg + ")"
	}
	return msg
}
