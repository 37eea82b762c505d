package kube

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kongchaos/kong/internal/kubesetup"
	"github.com/kongchaos/kong/internal/kubesetup/kubetest"
	"github.com/kongchaos/kong/internal/syncbuf"
	"github.com/kongchaos/kong/topology/containers/images"
)

// A real node: a kubelet and Debian's containerd on this machine, joined
// to the control plane. After the test no process of the node is left.
func TestOnARealNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Kubernetes control plane and a real node; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	before := kubeRules(t)
	// After the node: none of the kubelet's and kube-proxy's rules left.
	t.Cleanup(func() { require.Equal(t, before, kubeRules(t), "the node's iptables rules outlived it") })
	tools, cp := kubetest.Start(ctx, t, nil)
	node, err := cp.StartNode(ctx, tools, "real-a", "a", io.Discard, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, node.Stop(context.Background())) })
	t.Run("faults", func(t *testing.T) { faultsOnARealNode(ctx, t, cp, node) })
	t.Run("services", func(t *testing.T) { servicesOnARealNode(ctx, t, cp) })
	t.Run("run-job", func(t *testing.T) { runJobOnARealNode(ctx, t, cp, node) })
}

// A component of a world on the real node, running kong's memcached image
// (from Docker, imported into the node's containerd). Real traffic from
// this machine to the pod, through each fault as kong maps it onto the
// API: a pause (SIGSTOP through the API server's exec) silences memcached
// with its data kept, a resume brings it back, a kill takes the pod away
// at once, and a start runs a fresh one, empty.
func faultsOnARealNode(ctx context.Context, t *testing.T, cp *kubesetup.ControlPlane, node *kubesetup.Node) {
	require.NoError(t, node.ImportFromDocker(ctx, images.Local[images.RoleMemcached]), "make test builds it: kong images build")

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

// kongImage is this source tree's kong, built static and packed as an
// image of that one program, imported into the node's containerd.
func kongImage(ctx context.Context, t *testing.T, node *kubesetup.Node) string {
	dir := t.TempDir()
	wd, err := os.Getwd()
	require.NoError(t, err)
	// As the container backend builds it for its image (the same build
	// cache).
	bin, err := images.KongBinary(ctx, images.SourceTree(wd), dir)
	require.NoError(t, err)
	prog, err := os.ReadFile(bin)
	require.NoError(t, err)
	const ref = "kong.local/kong-run-test:1"
	archive, err := kubesetup.ProgramImage(ref, "/usr/local/bin/kong", prog)
	require.NoError(t, err)
	path := filepath.Join(dir, "kong.tar")
	require.NoError(t, os.WriteFile(path, archive, 0o644))
	require.NoError(t, node.ImportImage(ctx, path))
	return ref
}

// kong commands run inside the cluster in a run Job of a world, from
// here, as kong run does on the kubernetes backend: the run's output
// shows, its exit status comes back, its reports are copied out, Ctrl-C
// reaches the command as SIGTERM (and the run still ends with its
// reports), and no Job or pod is left.
func runJobOnARealNode(ctx context.Context, t *testing.T, cp *kubesetup.ControlPlane, node *kubesetup.Node) {
	image := kongImage(ctx, t, node)
	space := Space{World: "rj"}
	cs := cp.Client
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: space.Control()}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.CoreV1().ServiceAccounts(space.Control()).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: RunnerName}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.CoreV1().Secrets(space.Control()).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: SecretName, Labels: map[string]string{LabelWorld: space.World}},
		Data: map[string][]byte{SecretKey: []byte("s"), SpecKey: []byte("{}")}}, metav1.CreateOptions{})
	require.NoError(t, err)
	remote := func(out io.Writer) *Remote {
		return &Remote{Client: cs, Exec: APIExec{Config: cp.Config, Client: cs}, Space: space, Image: image, Out: out, Hold: time.Minute}
	}

	out := &syncbuf.Buffer{}
	local := filepath.Join(t.TempDir(), "kong-reports")
	code, copied, err := remote(out).Run(ctx, []string{"compose", "--profile", "small", "--world", "rj", "-o", JobReports + "/docker-compose.yml"}, local)
	require.NoError(t, err, out.String())
	require.Equal(t, 0, code, out.String())
	require.Equal(t, []string{"docker-compose.yml"}, copied)
	data, err := os.ReadFile(filepath.Join(local, "docker-compose.yml"))
	require.NoError(t, err)
	require.Contains(t, string(data), "services:")
	require.Contains(t, out.String(), "wrote "+JobReports+"/docker-compose.yml", "the run's output shows here")

	// kong inside reaches the API server at the kubernetes Service, as on
	// any cluster; this runner's account may do nothing there, so the API
	// server's answer is a refusal.
	out = &syncbuf.Buffer{}
	code, _, err = remote(out).Run(ctx, []string{"status", "--backend", "kubernetes", "--in-cluster", "--world", "rj"}, local)
	require.NoError(t, err, out.String())
	require.NotEqual(t, 0, code, out.String())
	require.Contains(t, out.String(), "forbidden", "the API server answered the pod")

	out = &syncbuf.Buffer{}
	code, _, err = remote(out).Run(ctx, []string{"run", "no-such-scenario"}, local)
	require.NoError(t, err, out.String())
	require.Equal(t, 2, code, "bad input inside is bad input here: %s", out.String())
	require.Contains(t, out.String(), "no-such-scenario")

	// A command that runs until stopped, stopped as Ctrl-C would.
	out = &syncbuf.Buffer{}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, _, err := remote(out).Run(rctx, []string{"serve", "toxiproxy", "--listen", "127.0.0.1:18474"}, local)
		done <- result{code, err}
	}()
	waitFor(ctx, t, "the command to run in the cluster", func() bool { return strings.Contains(out.String(), "running in the cluster") })
	time.Sleep(2 * time.Second)
	stop()
	select {
	case r := <-done:
		require.NoError(t, r.err, out.String())
		require.Contains(t, out.String(), "stopping the run in the cluster")
	case <-time.After(2 * time.Minute):
		t.Fatalf("a stopped run did not end: %s", out.String())
	}

	waitFor(ctx, t, "the run Jobs and their pods to go", func() bool {
		jobs, err := cs.BatchV1().Jobs(space.Control()).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		pods, err := cs.CoreV1().Pods(space.Control()).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		return len(jobs.Items) == 0 && len(pods.Items) == 0
	})
}

// The node's Services, names and volumes, as a whole world needs them:
// kube-proxy routes a Service's cluster IP to its pod, CoreDNS at the
// node's address answers for a component's Service name with its cluster
// IP, which this machine reaches too, and a claim of the default storage
// class is bound to one of the node's volumes and mounted. It runs on the memcached that
// faultsOnARealNode left.
func servicesOnARealNode(ctx context.Context, t *testing.T, cp *kubesetup.ControlPlane) {
	cs := cp.Client
	l := layout(t, "rn", "default")
	o, err := Build(l, images.Local)
	require.NoError(t, err)
	mc := l.Plan.Memcached[0]
	ns := Space{World: "rn"}.Of(mc)
	var vip *corev1.Service
	for _, svc := range o.Services {
		if svc.Name == ObjectName(mc) && svc.Namespace == ns {
			vip, err = cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
			require.NoError(t, err)
		}
	}
	require.NotNil(t, vip, "Build made no Service for %s", mc.ID)
	require.NotEmpty(t, vip.Spec.ClusterIP)
	port := l.Plan.Spec.Ports.Memcached

	dns := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort("10.244.0.1", "53"))
	}}
	var got []string
	waitFor(ctx, t, "the Service's name to resolve", func() bool {
		got, err = dns.LookupHost(ctx, ServiceHost(ObjectName(mc), ns)+"."+kubesetup.ClusterDomain)
		return err == nil && len(got) > 0
	})
	require.Equal(t, []string{vip.Spec.ClusterIP}, got, "a component's Service name is its cluster IP")

	c := memcache.New(net.JoinHostPort(vip.Spec.ClusterIP, strconv.Itoa(port)))
	c.Timeout = time.Second
	vctx, vcancel := context.WithTimeout(ctx, time.Minute)
	defer vcancel()
	waitFor(vctx, t, "memcached to answer at its cluster IP", func() bool {
		return c.Set(&memcache.Item{Key: "vip", Value: []byte("ok")}) == nil
	})
	item, err := c.Get("vip")
	require.NoError(t, err)
	require.Equal(t, "ok", string(item.Value))

	// A cluster IP that leads to no endpoint is refused here at once: it
	// never leaves the machine for whatever answers on its default route.
	var d net.Dialer
	dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
	defer dcancel()
	conn, err := d.DialContext(dctx, "tcp", "10.96.255.254:8080")
	if err == nil {
		conn.Close()
	}
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "a cluster IP of no Service")

	// A claim of the default class, bound once a pod that mounts it is
	// scheduled, to one of the node's volumes.
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}}}
	_, err = cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, claim, metav1.CreateOptions{})
	require.NoError(t, err)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "mounts"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "m", Image: images.Local[images.RoleMemcached], ImagePullPolicy: corev1.PullNever,
			Args:         []string{"memcached", "-p", "11311", "-U", "0"},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
	}}
	_, err = cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	require.NoError(t, err)
	waitFor(ctx, t, "the pod with a claim to run", func() bool {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "mounts", metav1.GetOptions{})
		require.NoError(t, err)
		return p.Status.Phase == corev1.PodRunning
	})
	bound, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, corev1.ClaimBound, bound.Status.Phase)
	require.Equal(t, kubesetup.NodeStorageClass, *bound.Spec.StorageClassName)
}

// kubeRules are this machine's iptables and ip6tables lines that name a
// chain of Kubernetes' or of the CNI plugins', or the node's bridge or own rules.
func kubeRules(t *testing.T) []string {
	var out []string
	for _, cmd := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat", "mangle"} {
			b, err := exec.Command(cmd, "-t", table, "-S").Output()
			require.NoError(t, err)
			for _, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, "KUBE-") || strings.Contains(line, "CNI-") || strings.Contains(line, "kongbr0") || strings.Contains(line, "kong test node") {
					out = append(out, cmd+" "+table+": "+line)
				}
			}
		}
	}
	return out
}
