package kube

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kongchaos/kong/internal/kubesetup/kubetest"
	"github.com/kongchaos/kong/topology/containers/images"
)

// A component of a world on a real node: a kubelet and Debian's
// containerd on this machine, joined to the control plane, running kong's
// memcached image (from Docker, imported into the node's containerd).
// Real traffic from this machine to the pod, through each fault as kong
// maps it onto the API: a pause (SIGSTOP through the API server's exec)
// silences memcached with its data kept, a resume brings it back, a kill
// takes the pod away at once, and a start runs a fresh one, empty. After
// the test no process of the node is left.
func TestFaultsOnARealNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Kubernetes control plane and a real node; skipped with -short")
	}
	docker, err := exec.LookPath("docker")
	require.NoError(t, err, "the test runs kong's memcached image from Docker (make test builds it: kong images build)")
	archive := filepath.Join(t.TempDir(), "memcached.tar")
	out, err := exec.Command(docker, "save", "-o", archive, images.Local[images.RoleMemcached]).CombinedOutput()
	require.NoError(t, err, "docker save %s: %s (make test builds it: kong images build)", images.Local[images.RoleMemcached], out)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tools, cp := kubetest.Start(ctx, t, nil)
	node, err := cp.StartNode(ctx, tools, "real-a", "a", io.Discard, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, node.Stop(context.Background())) })
	require.NoError(t, node.ImportImage(ctx, archive))

	// us-east-1's memcached of zone a, as Build lays it out.
	l := layout(t, "rn", "default")
	o, err := Build(l, images.Local)
	require.NoError(t, err)
	mc := l.Plan.Memcached[0]
	require.Equal(t, "a", mc.Zone)
	cs := cp.Client
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Space{World: "rn"}.Of(mc)}}
	_, err = cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	require.NoError(t, err)
	for _, ss := range o.StatefulSets {
		if ss.Annotations[AnnotationID] == mc.ID {
			_, err = cs.AppsV1().StatefulSets(ss.Namespace).Create(ctx, ss, metav1.CreateOptions{})
			require.NoError(t, err)
		}
	}
	port := strconv.Itoa(l.Plan.Spec.Ports.Memcached)
	addr := func() string {
		var ip string
		waitFor(ctx, t, "memcached's pod to be Ready", func() bool {
			list, err := cs.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: ComponentSelector("rn", mc.ID)})
			require.NoError(t, err)
			for _, p := range list.Items {
				for _, c := range p.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
						ip = p.Status.PodIP
						return true
					}
				}
			}
			return false
		})
		return net.JoinHostPort(ip, port)
	}
	client := func(a string) *memcache.Client {
		c := memcache.New(a)
		c.Timeout = time.Second
		return c
	}
	first := addr()
	mcc := client(first)
	require.NoError(t, mcc.Set(&memcache.Item{Key: "k", Value: []byte("v1")}))

	ops := &Ops{Client: cs, Space: Space{World: "rn"}, Exec: APIExec{Config: cp.Config, Client: cs}}
	require.NoError(t, ops.Pause(ctx, mc.ID))
	_, err = mcc.Get("k")
	require.Error(t, err, "a paused memcached does not answer")
	var netErr net.Error
	var timeout *memcache.ConnectTimeoutError
	require.True(t, errors.As(err, &timeout) || errors.As(err, &netErr) && netErr.Timeout(), "a timeout, not a refusal: %v", err)
	require.NoError(t, ops.Resume(ctx, mc.ID))
	got, err := client(first).Get("k")
	require.NoError(t, err, "a resumed memcached answers")
	require.Equal(t, "v1", string(got.Value), "and kept its data")

	require.NoError(t, ops.Kill(ctx, mc.ID))
	waitFor(ctx, t, "the killed pod to go", func() bool { return len(pods(ctx, t, cs, mc.ID)) == 0 })
	// The pod is gone from the API at once; the kubelet kills its
	// processes a moment later.
	require.Eventually(t, func() bool {
		_, err := client(first).Get("k")
		return err != nil
	}, 15*time.Second, 100*time.Millisecond, "nothing answers at a killed pod's address")
	require.NoError(t, ops.Start(ctx, mc.ID))
	c := client(addr())
	_, err = c.Get("k")
	require.ErrorIs(t, err, memcache.ErrCacheMiss, "a started memcached is a fresh one")
	require.NoError(t, c.Set(&memcache.Item{Key: "k", Value: []byte("v2")}))
}
