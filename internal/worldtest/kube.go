package worldtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
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
	kw, stop, err := upKube(dir, name, profile)
	defer func() {
		if serr := stop(); serr != nil {
			fmt.Fprintln(os.Stderr, "taking the kube world down:", serr)
		}
	}()
	if err != nil {
		s.err = err
	} else {
		s.cluster = kw
		fmt.Fprintf(os.Stderr, "shared world %s ready on a real node in %s\n", name, time.Since(start).Round(time.Millisecond))
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "taking the kube world down:", err)
		code = 1
	}
	return code
}

// upKube starts the control plane and a real node with its state under
// dir, imports kong's images into the node, and brings a world of profile
// up on it, attached through its cluster IPs. stop (never nil, safe to
// call twice) takes down whatever came up.
func upKube(dir, name, profile string) (topology.Cluster, func() error, error) {
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
		return nil, stop, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "cluster"), 0o700); err != nil {
		return nil, stop, err
	}
	cp, err := kubesetup.Start(ctx, tools, filepath.Join(dir, "cluster"), nil)
	if err != nil {
		return nil, stop, err
	}
	steps = append(steps, cp.Stop)
	node, err := cp.StartNode(ctx, tools, "kong-node", "a", os.Stderr, log)
	if err != nil {
		return nil, stop, err
	}
	steps = append(steps, func() error { return node.Stop(context.Background()) })
	for _, role := range images.Roles {
		if err := node.ImportFromDocker(ctx, images.Local[role]); err != nil {
			return nil, stop, err
		}
	}
	spec, err := topology.Profile(profile)
	if err != nil {
		return nil, stop, err
	}
	b := &kube.Backend{Kubeconfig: cp.Kubeconfig, Images: maps.Clone(images.Local), ViaClusterIPs: true}
	if _, err := b.Up(ctx, name, spec, topology.UpOptions{Timeout: 10 * time.Minute, Out: os.Stderr, Log: log}); err != nil {
		return nil, stop, err
	}
	steps = append(steps, func() error { return b.Down(context.Background(), name, time.Minute) })
	c, _, err := b.Attach(ctx, name)
	return c, stop, err
}
