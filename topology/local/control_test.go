package local

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/topologytest"
)

// TestControlAPINeedsTheWorldsSecret: nobody without the world's secret
// (another local user, a web page posting a form) steers the world; kong's
// own client, which reads the secret from the state folder, does.
func TestControlAPINeedsTheWorldsSecret(t *testing.T) {
	t.Setenv("KONG_SLOTS", t.TempDir())
	spec := topologytest.Profile(t, "small")
	home := filepath.Join(t.TempDir(), "home")
	require.NoError(t, PrepareHome(home))
	const name = "ctl-test"
	w := &World{name: name, spec: spec, home: home, dir: StateDir(home, name), procs: map[string]*process{}}
	require.NoError(t, w.claim())
	defer w.Down()
	info, err := os.Stat(filepath.Join(w.dir, secretFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the secret is readable by its user only")

	const id = "us-east-1/sleep/a"
	p := &process{comp: topology.Component{ID: id}, argv: []string{"sleep", "300"},
		logPath: filepath.Join(w.dir, "sleep.log"), stateDir: w.dir}
	require.NoError(t, p.start())
	w.procs[id] = p
	w.order = []string{id}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- w.ServeControl(ctx) }()
	defer func() { cancel(); <-served }()
	base := "http://" + w.Plan().Control
	require.Eventually(t, func() bool { return dialTCP(w.Plan().Control) == nil }, 5*time.Second, 20*time.Millisecond)

	for _, r := range []struct {
		name, method, path, ctype, auth, body string
		want                                  int
	}{
		{"no secret", "POST", "/v1/kill?id=" + id, "", "", "", http.StatusUnauthorized},
		{"wrong secret", "POST", "/v1/kill?id=" + id, "", "Bearer " + strings.Repeat("0", 64), "", http.StatusUnauthorized},
		{"secret without Bearer", "POST", "/v1/kill?id=" + id, "", w.secret, "", http.StatusUnauthorized},
		{"browser form post", "POST", "/v1/kill?id=" + id, "application/x-www-form-urlencoded", "", "id=" + id, http.StatusUnauthorized},
		{"browser text post", "POST", "/v1/pause?id=" + id, "text/plain", "", "x", http.StatusUnauthorized},
		{"read without secret", "GET", "/v1/components", "", "", "", http.StatusUnauthorized},
		{"unknown component", "POST", "/v1/kill?id=../../etc", "", "Bearer " + w.secret, "", http.StatusConflict},
		{"unknown action", "POST", "/v1/explode?id=" + id, "", "Bearer " + w.secret, "", http.StatusNotFound},
	} {
		req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		require.NoError(t, err)
		if r.ctype != "" {
			req.Header.Set("Content-Type", r.ctype)
		}
		if r.auth != "" {
			req.Header.Set(app.SecretHeader, r.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, r.name)
		resp.Body.Close()
		require.Equal(t, r.want, resp.StatusCode, r.name)
		require.Equal(t, topology.StateRunning, p.state(), "%s: the component was touched", r.name)
	}

	// kong's own client reads the secret and steers the world.
	remote, err := Attach(home, name)
	require.NoError(t, err)
	require.NoError(t, remote.Pause(context.Background(), id))
	require.Equal(t, topology.StatePaused, p.state())
	require.NoError(t, remote.Resume(context.Background(), id))
	require.NoError(t, remote.Kill(context.Background(), id))
	require.Equal(t, topology.StateStopped, p.state())
}

func dialTCP(addr string) error {
	resp, err := http.Get("http://" + addr + "/")
	if err == nil {
		resp.Body.Close()
	}
	return err
}
