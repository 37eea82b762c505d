package kubesetup

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ServiceCIDR is the cluster IP range of the control plane's Services.
const ServiceCIDR = "10.96.0.0/16"

// StorageClass is the default storage class, whose volumes kwok makes
// and binds (they hold nothing: nothing runs).
const StorageClass = "kwok-volume"

// ControlPlane is a Kubernetes control plane running on this machine's
// loopback: etcd, the API server, the controller manager (with its garbage
// collector), the scheduler, and kwok, which runs one fake node a zone
// whose pods become Ready without running anything.
type ControlPlane struct {
	// Config reaches the API server as its administrator.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file with the same.
	Kubeconfig string
	Client     kubernetes.Interface
	programs
}

// Start runs the control plane from tools, its state and logs in dir,
// with a fake node for each zone. Stop ends it; its processes also die
// with the process that started them.
func Start(ctx context.Context, t *Tools, dir string, zones []string) (cp *ControlPlane, err error) {
	cp = &ControlPlane{programs: programs{dir: dir}}
	defer func() {
		if err != nil {
			err = errors.Join(err, cp.Stop())
			cp = nil
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	token, err := secret()
	if err != nil {
		return nil, err
	}
	key, pub, err := serviceAccountKeys(dir)
	if err != nil {
		return nil, err
	}
	if err := kubeletClientCert(dir); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	if err := cp.run(t.Etcd, "etcd", "--name=kong", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL, "--initial-cluster=kong="+peerURL,
		"--unsafe-no-fsync"); err != nil {
		return nil, err
	}
	pki := filepath.Join(dir, "pki")
	if err := cp.run(t.APIServer, "kube-apiserver", "--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+pki, "--service-cluster-ip-range="+ServiceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc", "--service-account-key-file="+pub,
		"--service-account-signing-key-file="+key, "--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--kubelet-client-certificate="+filepath.Join(dir, kubeletClientCertFile), "--kubelet-client-key="+filepath.Join(dir, kubeletClientKeyFile),
		"--kubelet-preferred-address-types=InternalIP",
		"--authorization-mode=RBAC", "--endpoint-reconciler-type=none"); err != nil {
		return nil, err
	}
	host := "https://127.0.0.1:" + strconv.Itoa(apiPort)
	if err := waitReady(ctx, host, token, 2*time.Minute); err != nil {
		return nil, fmt.Errorf("the API server did not become ready (its log: %s): %w", filepath.Join(dir, "kube-apiserver.log"), err)
	}
	// The API server made its own certificate in pki: clients trust it.
	ca, err := os.ReadFile(filepath.Join(pki, "apiserver.crt"))
	if err != nil {
		return nil, err
	}
	// QPS and Burst: a world is a hundred objects or so, which client-go's
	// default of 5 requests a second would take 20 s to make.
	cp.Config = &rest.Config{Host: host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}, QPS: 50, Burst: 100}
	cp.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, []byte(kubeconfig(host, token, ca)), 0o600); err != nil {
		return nil, err
	}
	if cp.Client, err = kubernetes.NewForConfig(cp.Config); err != nil {
		return nil, err
	}
	if err := cp.run(t.ControllerManager, "kube-controller-manager", "--kubeconfig="+cp.Kubeconfig,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0",
		"--service-account-private-key-file="+key, "--root-ca-file="+filepath.Join(pki, "apiserver.crt"),
		"--service-cluster-ip-range="+ServiceCIDR); err != nil {
		return nil, err
	}
	if err := cp.run(t.Scheduler, "kube-scheduler", "--kubeconfig="+cp.Kubeconfig,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0"); err != nil {
		return nil, err
	}
	if err := cp.run(t.Kwok, "kwok", "--kubeconfig="+cp.Kubeconfig, "--config="+t.Stages,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--cidr=127.100.0.0/16", "--node-ip=127.0.0.1", "--server-address="); err != nil {
		return nil, err
	}
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: StorageClass,
		Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "kwok.x-k8s.io/volume", ReclaimPolicy: ptr(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr(storagev1.VolumeBindingImmediate)}
	if _, err := cp.Client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating storage class %s: %w", StorageClass, err)
	}
	for _, z := range zones {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kwok-" + z,
			Labels:      map[string]string{"type": "kwok", corev1.LabelTopologyZone: z, "kubernetes.io/hostname": "kwok-" + z},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"}}}
		if _, err := cp.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("creating node %s: %w", node.Name, err)
		}
	}
	return cp, nil
}

// programs are the processes that one part of the test cluster (its
// control plane, a node) runs, with their state and logs in dir.
type programs struct {
	dir   string
	procs []*exec.Cmd
}

// run starts one program in p.dir (startLogged).
func (p *programs) run(path, name string, args ...string) error {
	cmd, err := startLogged(p.dir, path, name, args...)
	if err != nil {
		return err
	}
	p.procs = append(p.procs, cmd)
	return nil
}

// kill kills every program with its process group, the last started
// first, and waits for each; before(i), when not nil, runs before the
// program started i-th is killed.
func (p *programs) kill(before func(i int)) {
	for i := len(p.procs) - 1; i >= 0; i-- {
		if before != nil {
			before(i)
		}
		_ = syscall.Kill(-p.procs[i].Process.Pid, syscall.SIGKILL)
		_ = p.procs[i].Wait()
	}
	p.procs = nil
}

// startLogged starts a program in dir, its output in <name>.log there, in
// a process group of its own, killed when the process that started it
// dies.
func startLogged(dir, path, name string, args ...string) (*exec.Cmd, error) {
	log, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return cmd, nil
}

// Stop ends every program of the control plane, the last started first,
// and waits for each.
func (cp *ControlPlane) Stop() error {
	if cp == nil {
		return nil
	}
	cp.kill(nil)
	return nil
}

// waitReady polls the API server's /readyz until it answers 200.
func waitReady(ctx context.Context, host, token string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// Only to learn that it answers: its certificate is read after.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // #nosec G402 -- loopback readiness probe
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/readyz: %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// freePorts are n ports free on the loopback address now.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func secret() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// serviceAccountKeys writes the key pair that signs service account
// tokens.
func serviceAccountKeys(dir string) (key, pub string, err error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", "", err
	}
	key, pub = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		return "", "", err
	}
	return key, pub, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// The files of the API server's client certificate for the kubelets
// (exec, logs), and of the authority that signed it, which a real node's
// kubelet trusts, and nothing else.
const (
	kubeletCAFile         = "kubelet-client-ca.crt"
	kubeletClientCertFile = "kubelet-client.crt"
	kubeletClientKeyFile  = "kubelet-client.key"
)

// kubeletClientCert makes a certificate authority and, signed by it, the
// API server's client certificate for the kubelets, into dir.
func kubeletClientCert(dir string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kong kubelet client CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	client := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver", Organization: []string{"system:masters"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, client, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for name, block := range map[string]*pem.Block{
		kubeletCAFile:         {Type: "CERTIFICATE", Bytes: caDER},
		kubeletClientCertFile: {Type: "CERTIFICATE", Bytes: der},
		kubeletClientKeyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func kubeconfig(host, token string, ca []byte) string {
	return strings.Join([]string{
		"apiVersion: v1", "kind: Config", "current-context: kong",
		"clusters:", "- name: kong", "  cluster:", "    server: " + host,
		"    certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca),
		"users:", "- name: admin", "  user:", "    token: " + token,
		"contexts:", "- name: kong", "  context:", "    cluster: kong", "    user: admin", "",
	}, "\n")
}

func ptr[T any](v T) *T { return &v }
