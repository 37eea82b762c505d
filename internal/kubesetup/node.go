package kubesetup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local/assets"
)

// The real node's network: a Linux bridge on this machine, the pods'
// addresses in PodCIDR behind it (the machine reaches them; they reach
// out through it, masqueraded). The node's address is the bridge's own
// (nodeIP), where its kubelet listens, for the API server alone (its
// client certificate); a kubelet refuses a loopback address. One real
// node runs on the machine at a time (StartNode holds a lock while it
// runs).
const (
	PodCIDR    = "10.244.0.0/24"
	nodeIP     = "10.244.0.1"
	nodeBridge = "kongbr0"
	// cniNetwork names the pods' network: the CNI plugins tag their
	// iptables rules with it.
	cniNetwork = "kong-node"
)

// Node is a real Kubernetes node on this machine: Debian's containerd
// (its CRI plugin, runc) with the bridge CNI plugin, and a kubelet, with
// their state in one folder, joined to the control plane. Its pods run
// for real: the images it runs are imported into its containerd
// (ImportImage), never pulled.
type Node struct {
	Name   string
	cp     *ControlPlane
	sock   string
	ctr    string
	unlock func()
	programs
	// kubeProxy is set once kube-proxy ran: Stop has it remove its rules.
	kubeProxy string
	// kubeletChains are the iptables chains the kubelet makes that were
	// not there before it: Stop removes them.
	kubeletChains []tableChain
	// relay carries the node's pods' traffic to the API server (relayAPI).
	relay *apiRelay
}

// tableChain is a chain of a table of iptables or ip6tables (cmd).
type tableChain struct{ cmd, table, chain string }

// kubeletMakes are the chains a kubelet makes (its canaries, a hint, and a
// filter of traffic to loopback from elsewhere), for IPv4 and IPv6, and
// leaves when it ends.
var kubeletMakes = func() []tableChain {
	var out []tableChain
	for _, cmd := range []string{"iptables", "ip6tables"} {
		for _, tc := range [][2]string{{"filter", "KUBE-FIREWALL"}, {"filter", "KUBE-KUBELET-CANARY"}, {"nat", "KUBE-KUBELET-CANARY"},
			{"mangle", "KUBE-KUBELET-CANARY"}, {"mangle", "KUBE-IPTABLES-HINT"}} {
			out = append(out, tableChain{cmd, tc[0], tc[1]})
		}
	}
	return out
}()

// missingChains are those of chains this machine does not have.
func missingChains(chains []tableChain) []tableChain {
	var out []tableChain
	for _, c := range chains {
		if exec.Command(c.cmd, "-t", c.table, "-S", c.chain).Run() != nil {
			out = append(out, c)
		}
	}
	return out
}

// removeChains removes chains, and every rule of their table that jumps
// to one of them.
func removeChains(chains []tableChain) error {
	var errs []error
	for _, c := range chains {
		out, err := exec.Command(c.cmd, "-t", c.table, "-S").Output()
		if err != nil {
			errs = append(errs, fmt.Errorf("listing %s table %s: %w", c.cmd, c.table, err))
			continue
		}
		for _, rule := range strings.Split(string(out), "\n") {
			args, jump := iptablesArgs(rule)
			if jump != c.chain || len(args) < 2 || args[0] != "-A" {
				continue
			}
			del := append([]string{"-t", c.table, "-D"}, args[1:]...)
			if out, err := exec.Command(c.cmd, del...).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w: %s", c.cmd, strings.Join(del, " "), err, strings.TrimSpace(string(out))))
			}
		}
		_ = exec.Command(c.cmd, "-t", c.table, "-F", c.chain).Run()
		if out, err := exec.Command(c.cmd, "-t", c.table, "-X", c.chain).CombinedOutput(); err != nil && !strings.Contains(string(out), "No chain") {
			errs = append(errs, fmt.Errorf("removing chain %s of %s table %s: %w: %s", c.chain, c.cmd, c.table, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// StartNode starts a real node called name in zone (its
// topology.kubernetes.io/zone label) and waits until it is Ready.
// containerd and the CNI plugins are installed with apt-get when
// missing. Stop ends it and everything its pods ran.
func (cp *ControlPlane) StartNode(ctx context.Context, t *Tools, name, zone string, out io.Writer, log *slog.Logger) (n *Node, err error) {
	containerd, err := assets.EnsureContainerd(ctx, out, log)
	if err != nil {
		return nil, err
	}
	cni, err := assets.EnsureCNIPlugins(ctx, out, log)
	if err != nil {
		return nil, err
	}
	ctr, err := exec.LookPath("ctr")
	if err != nil {
		return nil, fmt.Errorf("containerd's ctr is not on PATH (it comes with Debian's containerd): %w", err)
	}
	tools, err := Dir()
	if err != nil {
		return nil, err
	}
	unlock, err := lock(ctx, filepath.Join(tools, "node.lock"))
	if err != nil {
		return nil, err
	}
	n = &Node{Name: name, cp: cp, programs: programs{dir: filepath.Join(cp.dir, "node-"+name)}, ctr: ctr, unlock: unlock}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.Stop(context.WithoutCancel(ctx)))
			n = nil
		}
	}()
	n.sock = filepath.Join(n.dir, "containerd.sock")
	for _, d := range []string{"root", "state", "net.d", "kubelet"} {
		if err := os.MkdirAll(filepath.Join(n.dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		"containerd.toml":        containerdConfig(n.dir, n.sock, cni),
		"net.d/10-kong.conflist": cniConfig(filepath.Join(n.dir, "cni")),
		"kubelet.yaml":           kubeletConfig(filepath.Join(n.dir, "pod-logs"), filepath.Join(cp.dir, kubeletCAFile)),
		"kube-proxy.yaml":        kubeProxyConfig(cp.Kubeconfig, name),
		"Corefile":               corefile(cp.Kubeconfig),
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(n.dir, f), []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	if err := n.run(containerd, "containerd", "--config", filepath.Join(n.dir, "containerd.toml")); err != nil {
		return nil, err
	}
	if err := waitFile(ctx, n.sock, 30*time.Second); err != nil {
		return nil, fmt.Errorf("containerd did not open %s (its log: %s): %w", n.sock, filepath.Join(n.dir, "containerd.log"), err)
	}
	if err := n.ImportImage(ctx, t.PauseImage); err != nil {
		return nil, err
	}
	if err := bridgeUp(); err != nil {
		return nil, err
	}
	if err := n.relayAPI(ctx, cp.Config.Host); err != nil {
		return nil, err
	}
	n.kubeletChains = missingChains(kubeletMakes)
	if err := n.run(t.Kubelet, "kubelet", "--config="+filepath.Join(n.dir, "kubelet.yaml"), "--kubeconfig="+cp.Kubeconfig,
		"--container-runtime-endpoint=unix://"+n.sock, "--root-dir="+filepath.Join(n.dir, "kubelet"),
		"--cert-dir="+filepath.Join(n.dir, "kubelet", "pki"), "--hostname-override="+name, "--node-ip="+nodeIP, "--node-labels="+corev1.LabelTopologyZone+"="+zone); err != nil {
		return nil, err
	}
	if err := n.waitReady(ctx, 2*time.Minute); err != nil {
		return nil, fmt.Errorf("node %s did not become Ready (kubelet's log: %s): %w", name, filepath.Join(n.dir, "kubelet.log"), err)
	}
	if err := noKubeProxy(t.KubeProxy); err != nil {
		return nil, err
	}
	n.kubeProxy = t.KubeProxy
	if err := n.run(t.KubeProxy, "kube-proxy", "--config="+filepath.Join(n.dir, "kube-proxy.yaml")); err != nil {
		return nil, err
	}
	if err := waitKubeProxy(ctx, time.Minute); err != nil {
		return nil, fmt.Errorf("kube-proxy did not program the node's Services: %w (its log: %s)\n%s", err, filepath.Join(n.dir, "kube-proxy.log"),
			lastLinesOf(filepath.Join(n.dir, "kube-proxy.log"), 5))
	}
	if err := n.run(t.CoreDNS, "coredns", "-conf", filepath.Join(n.dir, "Corefile")); err != nil {
		return nil, err
	}
	if err := waitDNS(ctx, time.Minute); err != nil {
		return nil, fmt.Errorf("the node's cluster DNS does not answer (CoreDNS's log: %s): %w", filepath.Join(n.dir, "coredns.log"), err)
	}
	if err := n.volumes(ctx, nodeVolumes); err != nil {
		return nil, err
	}
	return n, nil
}

// The node's Services and names: kube-proxy gives cluster IPs their
// backends (iptables), CoreDNS answers for the cluster's names at the
// node's address, where the kubelet points its pods.
const (
	ClusterDomain = "cluster.local"
	// nodeVolumes are the node's volumes for claims of its storage class
	// (NodeStorageClass): a folder each, in the node's folder.
	nodeVolumes = 24
)

// NodeStorageClass is the default storage class while a real node runs:
// its volumes are folders of the node (hostPath), bound when a pod that
// claims one is scheduled.
const NodeStorageClass = "kong-node-local"

// kubeProxyConfig runs kube-proxy in iptables mode for the node's pods,
// its health and metrics on loopback, node ports (none of kong's) on the
// node's bridge alone and never on loopback (that would set the machine's
// route_localnet), and the machine's conntrack table left as it is.
func kubeProxyConfig(kubeconfig, node string) string {
	return `# Generated by kong: kube-proxy of a real node.
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ` + kubeconfig + `}
hostnameOverride: ` + node + `
mode: iptables
clusterCIDR: ` + PodCIDR + `
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false}
nodePortAddresses: [` + nodeIP + `/32]
`
}

// corefile serves the cluster's names (Services and pods, from the API)
// at the node's address, and nothing else: no name outside the cluster
// is forwarded anywhere.
func corefile(kubeconfig string) string {
	return `# Generated by kong: the cluster DNS of a real node.
.:53 {
    bind ` + nodeIP + `
    errors
    cache 5
    kubernetes ` + ClusterDomain + ` in-addr.arpa ip6.arpa {
        kubeconfig ` + kubeconfig + ` kong
        pods insecure
    }
}
`
}

// noKubeProxy refuses a machine where a kube-proxy runs already: the
// node's kube-proxy would rewrite its rules, and its cleanup remove them.
func noKubeProxy(kubeProxy string) error {
	if exec.Command("iptables", "-t", "nat", "-S", "KUBE-SERVICES").Run() == nil {
		return fmt.Errorf("this machine runs a kube-proxy already, or a killed test node left its rules (the iptables chain KUBE-SERVICES is there): the test node's would take it over; on a machine that is no Kubernetes node, `%s --cleanup` removes them", kubeProxy)
	}
	if nft, err := exec.LookPath("nft"); err == nil && exec.Command(nft, "list", "table", "ip", "kube-proxy").Run() == nil {
		return errors.New("this machine runs a kube-proxy already (its nftables table kube-proxy is there): the test node's would take it over; run the test node on a machine that is no Kubernetes node")
	}
	return nil
}

// waitKubeProxy waits until kube-proxy has made its chain of Services.
func waitKubeProxy(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for exec.CommandContext(ctx, "iptables", "-t", "nat", "-S", "KUBE-SERVICES").Run() != nil {
		select {
		case <-ctx.Done():
			return errors.New("no KUBE-SERVICES chain")
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil
}

// lastLinesOf is the end of a log file, or nothing.
func lastLinesOf(path string, n int) string {
	b, _ := os.ReadFile(path)
	return topology.LastLines(b, n)
}

// waitDNS waits until the node's DNS answers for the API server's
// Service.
func waitDNS(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(nodeIP, "53"))
	}}
	var last error
	for {
		qctx, qcancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := r.LookupHost(qctx, "kubernetes.default.svc."+ClusterDomain)
		qcancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return last
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// volumes makes the node's storage class the cluster's default (kwok's
// no longer) and count volumes of it, each a folder of the node.
func (n *Node) volumes(ctx context.Context, count int) error {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: NodeStorageClass,
		Annotations: map[string]string{defaultClass: "true"}},
		Provisioner: "kubernetes.io/no-provisioner", ReclaimPolicy: ptr(corev1.PersistentVolumeReclaimRetain),
		VolumeBindingMode: ptr(storagev1.VolumeBindingWaitForFirstConsumer)}
	classes := n.cp.Client.StorageV1().StorageClasses()
	if _, err := classes.Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating storage class %s: %w", NodeStorageClass, err)
	}
	notDefault := []byte(`{"metadata":{"annotations":{"` + defaultClass + `":"false"}}}`)
	if _, err := classes.Patch(ctx, StorageClass, types.MergePatchType, notDefault, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("storage class %s: %w", StorageClass, err)
	}
	for i := range count {
		name := fmt.Sprintf("%s-%02d", n.Name, i)
		path := filepath.Join(n.dir, "volumes", name)
		if err := os.MkdirAll(path, 0o777); err != nil {
			return err
		}
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{
				StorageClassName: NodeStorageClass, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("4Gi")},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{n.Name}}}}}}},
			}}
		if _, err := n.cp.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating volume %s: %w", name, err)
		}
	}
	return nil
}

// defaultClass marks the cluster's default storage class.
const defaultClass = "storageclass.kubernetes.io/is-default-class"

// containerdConfig runs containerd on its own socket and folders, with
// the CRI plugin's sandbox image the one setup built, the CNI plugins of
// cni, and oom_score_adj kept within what this machine allows (pods'
// negative scores make runc fail in a restricted sandbox).
func containerdConfig(dir, sock, cni string) string {
	return fmt.Sprintf(`# Generated by kong: the container runtime of a real node.
version = 2
root = %[1]q
state = %[2]q

[grpc]
  address = %[3]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[4]q
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[5]q
    conf_dir = %[6]q
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, PauseImageRef, cni, filepath.Join(dir, "net.d"))
}

// cniConfig puts each pod on the node's bridge, with an address of
// PodCIDR (its leases kept in ipam), the machine as its gateway.
func cniConfig(ipam string) string {
	return fmt.Sprintf(`{"cniVersion": "0.4.0", "name": %q, "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
`, cniNetwork, nodeBridge, ipam, PodCIDR)
}

// kubeletConfig: cgroupfs, on a machine that may run cgroup v1 and swap;
// its API at the node's address, for clients with a certificate of
// clientCA alone (the API server, for exec and logs); the pods' logs in
// podLogs.
func kubeletConfig(podLogs, clientCA string) string {
	return `# Generated by kong: the kubelet of a real node.
podLogsDir: ` + podLogs + `
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
address: ` + nodeIP + `
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: ` + clientCA + `}
authorization: {mode: AlwaysAllow}
clusterDNS: [` + nodeIP + `]
clusterDomain: ` + ClusterDomain + `
enforceNodeAllocatable: []
serializeImagePulls: false
`
}

// ImportImage loads an image archive (as docker save writes it) into the
// node's containerd, where its pods find it without a pull.
func (n *Node) ImportImage(ctx context.Context, archive string) error {
	out, err := exec.CommandContext(ctx, n.ctr, "--address", n.sock, "--namespace", "k8s.io", "images", "import", archive).CombinedOutput()
	if err != nil {
		return fmt.Errorf("importing %s into the node's containerd: %w: %s", archive, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ImportFromDocker copies image from the machine's Docker engine into the
// node's containerd (docker save into a file under n's folder, then
// ImportImage), for images built here that no registry serves.
func (n *Node) ImportFromDocker(ctx context.Context, image string) error {
	docker, err := exec.LookPath("docker")
	if err != nil {
		return fmt.Errorf("importing %s into the node: it comes from Docker, which is not on PATH (kong setup --engine): %w", image, err)
	}
	archive := filepath.Join(n.dir, "image.tar")
	defer os.Remove(archive)
	if out, err := exec.CommandContext(ctx, docker, "save", "-o", archive, image).CombinedOutput(); err != nil {
		return fmt.Errorf("docker save %s: %w: %s (kong images build makes kong's images)", image, err, strings.TrimSpace(string(out)))
	}
	return n.ImportImage(ctx, archive)
}

func (n *Node) waitReady(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		node, err := n.cp.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err == nil {
			for _, c := range node.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Stop ends the node and all it ran: its pods are deleted and the kubelet
// given a minute to take them down (their network and mounts with them),
// then the kubelet, every container left and containerd are killed, the
// mounts left under its folder undone and its bridge removed.
func (n *Node) Stop(ctx context.Context) error {
	if n == nil {
		return nil
	}
	var errs []error
	if len(n.procs) > 1 { // the kubelet runs: let it take its pods down
		errs = append(errs, n.drain(ctx))
	}
	n.kill(func(i int) {
		if i == 0 && n.sock != "" {
			// containerd: first every container it runs.
			n.killTasks(ctx)
		}
	})
	errs = append(errs, killShims(n.sock), unmountUnder(n.dir), removeCNIRules())
	if n.kubeProxy != "" {
		// kube-proxy's chains and rules, which outlive it by design.
		if out, err := exec.Command(n.kubeProxy, "--cleanup").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("kube-proxy --cleanup: %w: %s", err, topology.LastLines(out, 5)))
		}
		n.kubeProxy = ""
	}
	errs = append(errs, removeChains(n.kubeletChains))
	n.kubeletChains = nil
	unrelayCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	errs = append(errs, n.unrelayAPI(unrelayCtx))
	cancel()
	errs = append(errs, bridgeDown())
	if n.unlock != nil {
		n.unlock()
		n.unlock = nil
	}
	return errors.Join(errs...)
}

// drain cordons the node, deletes every pod bound to it and waits (a minute at most)
// until the kubelet has taken them down and the API has let them go.
func (n *Node) drain(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// Cordoned first: what a controller makes again is not put back here.
	cordon := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := n.cp.Client.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, cordon, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("cordoning node %s: %w", n.Name, err)
	}
	pods := n.cp.Client.CoreV1().Pods(metav1.NamespaceAll)
	sel := metav1.ListOptions{FieldSelector: "spec.nodeName=" + n.Name}
	for {
		list, err := pods.List(ctx, sel)
		if err != nil {
			return fmt.Errorf("listing the pods of node %s: %w", n.Name, err)
		}
		if len(list.Items) == 0 {
			return nil
		}
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil {
				_ = n.cp.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](1)})
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s: %d pods not taken down in a minute", n.Name, len(list.Items))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// killTasks kills every container left in the node's containerd.
func (n *Node) killTasks(ctx context.Context) {
	ctr := func(args ...string) string {
		out, _ := exec.CommandContext(ctx, n.ctr, append([]string{"--address", n.sock, "--namespace", "k8s.io"}, args...)...).Output()
		return string(out)
	}
	for _, id := range strings.Fields(ctr("tasks", "list", "--quiet")) {
		ctr("tasks", "kill", "--signal", "SIGKILL", id)
		ctr("tasks", "delete", "--force", id)
	}
}

// killShims kills the containerd shims (and so what they still hold)
// started for the containerd at sock: they outlive it by design.
func killShims(sock string) error {
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return err
	}
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") || !slices.Contains(args, sock) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return nil
}

// unmountUnder undoes every mount under dir, the deepest first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return err
	}
	defer f.Close()
	var under []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 1 && strings.HasPrefix(fields[1], dir+"/") {
			under = append(under, fields[1])
		}
	}
	slices.SortFunc(under, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, m := range under {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// removeCNIRules removes the masquerading rules the bridge plugin made
// for pods whose network it was not asked to remove (the kubelet was
// stopped first, or failed): the rules in POSTROUTING tagged with the
// pods' network, and the chains they jump to.
func removeCNIRules() error {
	out, err := exec.Command("iptables", "-t", "nat", "-S", "POSTROUTING").Output()
	if err != nil {
		return fmt.Errorf("listing the NAT rules: %w", err)
	}
	tag := fmt.Sprintf(`name: \"%s\"`, cniNetwork)
	var errs []error
	for _, rule := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(rule, "-A POSTROUTING ") || !strings.Contains(rule, tag) {
			continue
		}
		args, chain := iptablesArgs(rule)
		del := append([]string{"-t", "nat", "-D"}, args[1:]...)
		if out, err := exec.Command("iptables", del...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("iptables %s: %w: %s", strings.Join(del, " "), err, strings.TrimSpace(string(out))))
			continue
		}
		if strings.HasPrefix(chain, "CNI-") {
			_ = exec.Command("iptables", "-t", "nat", "-F", chain).Run()
			_ = exec.Command("iptables", "-t", "nat", "-X", chain).Run()
		}
	}
	return errors.Join(errs...)
}

// iptablesArgs splits a rule as iptables -S prints it into arguments
// (quoted ones whole), and names the chain it jumps to.
func iptablesArgs(rule string) (args []string, jump string) {
	var cur strings.Builder
	quoted, escaped, seen := false, false, false
	for _, r := range rule {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quoted:
			escaped = true
		case r == '"':
			quoted, seen = !quoted, true
		case r == ' ' && !quoted:
			if cur.Len() > 0 || seen {
				args = append(args, cur.String())
			}
			cur.Reset()
			seen = false
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 || seen {
		args = append(args, cur.String())
	}
	for i, a := range args {
		if a == "-j" && i+1 < len(args) {
			jump = args[i+1]
		}
	}
	return args, jump
}

// bridgeUp makes the node's bridge with the node's address, before the
// kubelet listens there (the CNI plugin then finds it made), and puts the
// node's rules (nodeRules) first in their chains.
func bridgeUp() error {
	for _, args := range [][]string{
		{"link", "add", "name", nodeBridge, "type", "bridge"},
		{"addr", "add", nodeIP + "/24", "dev", nodeBridge},
		{"link", "set", nodeBridge, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	for _, r := range nodeRules {
		args := append([]string{"-I", r.chain, "1"}, r.rule...)
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// nodeRules are the node's own rules in iptables' filter table:
//   - pod to pod: forward traffic between the node's pods (a pod to
//     another, or to a Service whose endpoint is another). With
//     bridge-nf-call-iptables on, bridged frames cross the FORWARD chain,
//     whose policy is DROP on a machine where Docker runs. Only the
//     bridge's own traffic: nothing reaches the pods from other interfaces.
//   - cluster IPs stay here: a connection to a cluster IP that kube-proxy
//     has not rewritten to an endpoint (a Service with none yet, or rules
//     not yet synced after a pod was replaced) is refused, from this
//     machine (OUTPUT, after kube-proxy's rewriting) and from the pods
//     (FORWARD), instead of leaving by the default route for whatever
//     answers there: a network that intercepts HTTP answered such a
//     connection with its own 404s, and a client kept it alive.
var nodeRules = []struct {
	chain string
	rule  []string
}{
	{"FORWARD", []string{"-i", nodeBridge, "-o", nodeBridge, "-m", "comment", "--comment", "kong test node: pod to pod", "-j", "ACCEPT"}},
	{"OUTPUT", clusterIPsStay},
	{"FORWARD", clusterIPsStay},
}

var clusterIPsStay = []string{"-d", ServiceCIDR, "-m", "comment", "--comment", "kong test node: cluster IPs stay here", "-j", "REJECT"}

// bridgeDown removes nodeRules and the bridge.
func bridgeDown() error {
	var errs []error
	for _, r := range nodeRules {
		for exec.Command("iptables", append([]string{"-C", r.chain}, r.rule...)...).Run() == nil {
			if out, err := exec.Command("iptables", append([]string{"-D", r.chain}, r.rule...)...).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("removing the node's %s rule: %w: %s", r.chain, err, strings.TrimSpace(string(out))))
				break
			}
		}
	}
	if out, err := exec.Command("ip", "link", "delete", nodeBridge).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
		errs = append(errs, fmt.Errorf("removing the bridge %s: %w: %s", nodeBridge, err, strings.TrimSpace(string(out))))
	}
	return errors.Join(errs...)
}

// waitFile waits until path exists.
func waitFile(ctx context.Context, path string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
