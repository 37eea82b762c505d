package kube

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/internal/kubesetup"
	"github.com/kongchaos/kong/internal/kubesetup/kubetest"
	"github.com/kongchaos/kong/topology"
)

// A world on a real API server, with its controllers, scheduler and
// garbage collector, and kwok's fake nodes (one a zone) standing in for
// kubelets: pods are scheduled, their volumes bound and they become Ready,
// but nothing runs in them. It checks what kong asks of the API: the
// objects are accepted, every component comes up, a kill and a zone
// outage take pods away and a heal from a fresh Ops (a kong started after
// the one that died) brings them back with their volumes, and deleting
// the world's control namespace removes everything. The control plane is
// built once into the cache by `kong setup --kubernetes` (make test runs
// it).
func TestWorldOnAnAPIServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	spec, cp := kubetest.ForProfile(ctx, t, "default")
	cs := cp.Client

	l, err := Create(ctx, cs, Space{World: "kt"}, "s3cret", spec, DefaultImages())
	require.NoError(t, err)
	cidr := netip.MustParsePrefix(kubesetup.ServiceCIDR)
	for _, n := range l.Plan.Cassandra {
		ip, err := netip.ParseAddr(n.Broadcast)
		require.NoError(t, err)
		require.True(t, cidr.Contains(ip), "%s broadcasts at %s, outside the Services' range", n.ID, ip)
	}
	waitReady(ctx, t, cs, "kt", len(l.Plan.Components()))
	// kwok ends the setup Job's pod at once, as if it succeeded.
	require.NoError(t, WaitSetup(ctx, cs, Space{World: "kt"}))

	// The world as a Cluster, found again from the cluster alone, as a
	// kong inside the cluster would: its plan, addresses and secret.
	w, err := AttachWorld(ctx, cs, nil, Space{World: "kt"})
	require.NoError(t, err)
	require.Equal(t, "s3cret", w.Secret())
	require.Equal(t, l.Plan.Cassandra[0].Address, w.CQLContactPoints("us-east-1")[0])
	require.Equal(t, l.Plan.Toxiproxy.Address, w.ToxiproxyAPI())
	states := func() map[string]topology.State {
		comps, err := w.Components(ctx)
		require.NoError(t, err)
		require.Len(t, comps, len(l.Plan.Components()))
		out := map[string]topology.State{}
		for _, c := range comps {
			out[c.ID] = c.State
		}
		return out
	}
	for id, st := range states() {
		require.Equal(t, topology.StateRunning, st, id)
	}

	// Through cluster IPs, as a kong on a node's host attaches: every
	// address a cluster IP, and the Service names the servers hand out
	// (the gateway the director names) dialled at theirs.
	via, err := AttachWorld(ctx, cs, nil, Space{World: "kt"})
	require.NoError(t, err)
	require.NoError(t, via.ThroughClusterIPs(ctx))
	comps, err := via.Components(ctx)
	require.NoError(t, err)
	for _, c := range comps {
		host, _, err := net.SplitHostPort(c.Address)
		require.NoError(t, err)
		ip, err := netip.ParseAddr(host)
		require.NoError(t, err, "%s is at %s, not a cluster IP", c.ID, c.Address)
		require.True(t, cidr.Contains(ip), "%s is at %s, outside the Services' range", c.ID, c.Address)
	}
	require.Contains(t, via.ips, l.Plan.Gateways[0].Address)

	// A release deployed to a member service goes into its Secret, where
	// kong serve member reads it, and a new pod runs.
	m := l.Plan.Members[0]
	uid := func() types.UID {
		list, err := cs.CoreV1().Pods(Space{World: "kt"}.Of(m)).List(ctx, metav1.ListOptions{LabelSelector: ComponentSelector("kt", m.ID)})
		require.NoError(t, err)
		require.Len(t, list.Items, 1)
		return list.Items[0].UID
	}
	before := uid()
	require.NoError(t, w.Deploy(ctx, m.ID, member.Release{Version: "v2"}))
	sec, err := cs.CoreV1().Secrets(Space{World: "kt"}.Of(m)).Get(ctx, ObjectName(m), metav1.GetOptions{})
	require.NoError(t, err)
	var rel member.Release
	require.NoError(t, json.Unmarshal(sec.Data[member.ReleaseFile], &rel))
	require.Equal(t, "v2", rel.Version)
	require.NotEqual(t, before, uid(), "the member service runs in a new pod")
	require.Error(t, w.Deploy(ctx, l.Plan.Cassandra[0].ID, member.Release{Version: "v2"}), "only member services take releases")

	ops := &Ops{Client: cs, Space: Space{World: "kt"}}
	node := l.Plan.Cassandra[1]
	require.NoError(t, w.Kill(ctx, node.ID))
	waitFor(ctx, t, "the killed node's pod to go", func() bool { return len(pods(ctx, t, cs, node.ID)) == 0 })
	require.Equal(t, topology.StateStopped, states()[node.ID])
	claims, err := cs.CoreV1().PersistentVolumeClaims(Space{World: "kt"}.Of(node.Component)).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, claims.Items, "a killed node keeps its data")
	require.NoError(t, w.Start(ctx, node.ID), "Start returns once the pod is Ready")
	require.Equal(t, topology.StateRunning, states()[node.ID])
	waitReady(ctx, t, cs, "kt", len(l.Plan.Components()))

	zone, err := ops.ZoneComponents(ctx, "us-west-2", "b")
	require.NoError(t, err)
	require.Len(t, zone, 3, "a node, a memcached and a member service")
	for _, id := range zone {
		require.NoError(t, ops.Kill(ctx, id))
	}
	for _, id := range zone {
		waitFor(ctx, t, id+"'s pod to go", func() bool { return len(pods(ctx, t, cs, id)) == 0 })
	}
	healed, err := (&Ops{Client: cs, Space: Space{World: "kt"}}).Heal(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, zone, healed)
	waitReady(ctx, t, cs, "kt", len(l.Plan.Components()))

	// The healer's pod is scheduled and Ready (kwok runs nothing in it);
	// its code runs here, as the healer's service account.
	waitFor(ctx, t, "the healer's Deployment", func() bool {
		d, err := cs.AppsV1().Deployments(Space{World: "kt"}.Control()).Get(ctx, HealerName, metav1.GetOptions{})
		require.NoError(t, err)
		return d.Status.ReadyReplicas == 1
	})
	healerConfig := rest.CopyConfig(cp.Config)
	healerConfig.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + Space{World: "kt"}.Control() + ":" + HealerName}
	hcs, err := kubernetes.NewForConfig(healerConfig)
	require.NoError(t, err)
	victim := l.Plan.Cassandra[4]
	err = hcs.CoreV1().Pods(Space{World: "kt"}.Of(victim.Component)).Delete(ctx, ObjectName(victim.Component)+"-0", metav1.DeleteOptions{})
	require.True(t, apierrors.IsForbidden(err), "the healer may not delete pods: %v", err)

	// A kong that holds the run lease kills a node, and is killed with
	// SIGKILL mid-fault: the lease expires, and the healer heals.
	holder := exec.Command(os.Args[0], "-test.run=^$")
	holder.Env = append(os.Environ(), holderEnv+"="+cp.Kubeconfig, "KONG_KUBE_HOLDER_VICTIM="+victim.ID)
	out, err := holder.StdoutPipe()
	require.NoError(t, err)
	holder.Stderr = os.Stderr
	require.NoError(t, holder.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "the lease holder's first line")
	require.Equal(t, "faulted\n", line)
	require.NoError(t, holder.Process.Signal(syscall.SIGKILL))
	_ = holder.Wait()
	waitFor(ctx, t, "the victim's pod to go", func() bool { return len(pods(ctx, t, cs, victim.ID)) == 0 })
	_, err = Acquire(ctx, cs, Space{World: "kt"}, "next-run", 3*time.Second)
	require.ErrorIs(t, err, ErrLeaseHeld, "a run does not start on a world whose run is still within its lease")

	hctx, stopHealer := context.WithCancel(ctx)
	healerDone := make(chan error, 1)
	go func() {
		h := &Healer{Ops: &Ops{Client: hcs, Space: Space{World: "kt"}, Regions: spec.RegionNames()}}
		healerDone <- h.Run(hctx, 500*time.Millisecond)
	}()
	waitReady(ctx, t, cs, "kt", len(l.Plan.Components()))
	waitFor(ctx, t, "the lease to be freed", func() bool {
		lease, err := cs.CoordinationV1().Leases(Space{World: "kt"}.Control()).Get(ctx, LeaseName, metav1.GetOptions{})
		require.NoError(t, err)
		return stateOf(lease).Holder == ""
	})
	stopHealer()
	require.NoError(t, <-healerDone)
	next, err := Acquire(ctx, cs, Space{World: "kt"}, "next-run", 3*time.Second)
	require.NoError(t, err, "the healed world takes a new run")
	require.NoError(t, next.Release(ctx))

	worlds, err := Worlds(ctx, cs, "")
	require.NoError(t, err)
	require.Equal(t, []string{"kt"}, worlds)
	// The owner alone: the garbage collector takes the region namespaces.
	require.NoError(t, cs.CoreV1().Namespaces().Delete(ctx, Space{World: "kt"}.Control(), metav1.DeleteOptions{}))
	waitFor(ctx, t, "the world's namespaces to go", func() bool {
		list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelWorld + "=kt"})
		require.NoError(t, err)
		return len(list.Items) == 0
	})
	require.ErrorIs(t, Delete(ctx, cs, Space{World: "kt"}), topology.ErrNotUp)
}

// waitReady waits until n StatefulSets of world have their replica ready.
func waitReady(ctx context.Context, t *testing.T, cs kubernetes.Interface, world string, n int) {
	t.Helper()
	waitFor(ctx, t, "every component to be ready", func() bool {
		list, err := cs.AppsV1().StatefulSets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: LabelWorld + "=" + world})
		require.NoError(t, err)
		ready := 0
		for _, ss := range list.Items {
			if ss.Status.ReadyReplicas == 1 {
				ready++
			}
		}
		return len(list.Items) == n && ready == n
	})
}

func pods(ctx context.Context, t *testing.T, cs kubernetes.Interface, id string) []string {
	t.Helper()
	list, err := cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: ComponentSelector("kt", id)})
	require.NoError(t, err)
	var out []string
	for _, p := range list.Items {
		out = append(out, p.Name)
	}
	return out
}

func waitFor(ctx context.Context, t *testing.T, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// holderEnv names the kubeconfig of the API server in the process that
// TestWorldOnAnAPIServer starts as a kong in a run: it takes the run
// lease of world kt, kills the component KONG_KUBE_HOLDER_VICTIM, says
// "faulted", and waits to be killed.
const holderEnv = "KONG_KUBE_HOLDER"

func TestMain(m *testing.M) {
	if kc := os.Getenv(holderEnv); kc != "" {
		if err := holdAndFault(kc, os.Getenv("KONG_KUBE_HOLDER_VICTIM")); err != nil {
			fmt.Fprintln(os.Stderr, "lease holder:", err)
			os.Exit(1)
		}
		select {}
	}
	os.Exit(m.Run())
}

func holdAndFault(kubeconfig, victim string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := Acquire(ctx, cs, Space{World: "kt"}, fmt.Sprintf("holder-%d", os.Getpid()), 3*time.Second); err != nil {
		return err
	}
	if err := (&Ops{Client: cs, Space: Space{World: "kt"}}).Kill(ctx, victim); err != nil {
		return err
	}
	_, err = fmt.Println("faulted")
	return err
}
