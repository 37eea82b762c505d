package worldtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kongchaos/kong/internal/kubesetup"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers/images"
	"github.com/kongchaos/kong/topology/kube"
)

// BackendKubernetes runs the shared world on a Kubernetes control plane
// and one real node of this machine (kubelet and Debian's containerd),
// which kong setup --kubernetes builds, with kong's images (kong images
// build) imported from Docker into the node. The game days run here,
// through the world's cluster IPs, which this machine routes as the
// node's host.
const BackendKubernetes = "kubernetes"

// runSharedKube is RunShared on the kubernetes backend; it returns the
// exit code.
func runSharedKube(m interface{ Run() int }, s *Shared, name, profile string) int {
	dir, err := os.MkdirTemp("", "kong-"+name+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	kw, kubeconfig, stop, err := upKube(dir, name, profile)
	defer func() {
		if serr := stop(); serr != nil {
			fmt.Fprintln(os.Stderr, "taking the kube world down:", serr)
		}
	}()
	if err != nil {
		s.err = err
	} else {
		s.cluster, s.kubeconfig = kw, kubeconfig
		fmt.Fprintf(os.Stderr, "shared world %s ready on a real node in %s\n", name, time.Since(start).Round(time.Millisecond))
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "taking the kube world down:", err)
		code = 1
	}
	return code
}

// Kubeconfig is the path of a kubeconfig that reaches the kubernetes
// backend's shared world as the cluster's administrator, for a test that
// runs kong against the cluster as a user would; it skips on the other
// backends, and fails when the world did not come up.
func (s *Shared) Kubeconfig(t *testing.T) string {
	t.Helper()
	if Backend() != BackendKubernetes {
		t.Skipf("sends kong commands into a Kubernetes cluster; KONG_BACKEND=%s", Backend())
	}
	s.Get(t)
	return s.kubeconfig
}

// upKube starts the control plane and a real node with its state under
// dir, imports kong's images into the node, and brings a world of profile
// up on it, attached through its cluster IPs; it returns the world and the
// control plane's kubeconfig. stop (never nil, safe to call twice) takes
// down whatever came up.
func upKube(dir, name, profile string) (topology.Cluster, string, func() error, error) {
	var steps []func() error
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		var errs []error
		for i := len(steps) - 1; i >= 0; i-- {
			errs = append(errs, steps[i]())
		}
		return errors.Join(errs...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tools, err := kubesetup.Find()
	if err != nil {
		return nil, "", stop, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "cluster"), 0o700); err != nil {
		return nil, "", stop, err
	}
	cp, err := kubesetup.Start(ctx, tools, filepath.Join(dir, "cluster"), nil)
	if err != nil {
		return nil, "", stop, err
	}
	steps = append(steps, cp.Stop)
	node, err := cp.StartNode(ctx, tools, "kong-node", "a", os.Stderr, log)
	if err != nil {
		return nil, "", stop, err
	}
	steps = append(steps, func() error { return node.Stop(context.Background()) })
	for _, role := range images.Roles {
		if err := node.ImportFromDocker(ctx, images.Local[role]); err != nil {
			return nil, "", stop, err
		}
	}
	spec, err := topology.Profile(profile)
	if err != nil {
		return nil, "", stop, err
	}
	b := &kube.Backend{Kubeconfig: cp.Kubeconfig, Images: maps.Clone(images.Local), ViaClusterIPs: true}
	if _, err := b.Up(ctx, name, spec, topology.UpOptions{Timeout: 10 * time.Minute, Out: os.Stderr, Log: log}); err != nil {
		return nil, "", stop, err
	}
	steps = append(steps, func() error { return b.Down(context.Background(), name, time.Minute) })
	c, _, err := b.Attach(ctx, name)
	return c, cp.Kubeconfig, stop, err
}
