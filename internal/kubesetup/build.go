// Package kubesetup builds a Kubernetes control plane from Go modules into
// kong's cache (`kong setup --kubernetes`), for the kubernetes backend's
// tests against a real API server on a machine without a cluster or a
// container registry: kube-apiserver, kube-controller-manager and
// kube-scheduler from k8s.io/kubernetes, etcd from go.etcd.io/etcd/server,
// kwok, which stands in for the nodes and their kubelets, and what a real
// node runs: a kubelet, kube-proxy, and CoreDNS for the cluster's names.
package kubesetup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kongchaos/kong/internal/flock"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local/assets"
)

// Versions built. The Kubernetes modules are one release (client-go in
// go.mod is v0.37.2, so the API server is v1.37.2).
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.7.3"
	KwokVersion       = "v0.8.0"
	CoreDNSVersion    = "v1.14.3"
)

// Tools are the control plane's programs, and kwok's stages (how its fake
// nodes and pods move through their lifecycle, from kwok's module).
type Tools struct {
	APIServer, ControllerManager, Scheduler, Etcd, Kwok string
	Stages                                              string
	// Kubelet runs a real node (StartNode), with KubeProxy for its
	// Services' cluster IPs and CoreDNS for their names; PauseImage is
	// the image of its pods' sandboxes (a docker-archive tar,
	// PauseImageRef), built here since no registry is reachable.
	Kubelet, KubeProxy, CoreDNS, PauseImage string
}

// programs are the Tools' fields by program name, in build order (the
// small ones first).
func (t *Tools) programs() []struct {
	name string
	path *string
} {
	return []struct {
		name string
		path *string
	}{{"etcd", &t.Etcd}, {"kwok", &t.Kwok}, {"kwok-stages", &t.Stages}, {"pause-image", &t.PauseImage},
		{"kube-scheduler", &t.Scheduler}, {"kubelet", &t.Kubelet}, {"kube-proxy", &t.KubeProxy}, {"coredns", &t.CoreDNS},
		{"kube-controller-manager", &t.ControllerManager}, {"kube-apiserver", &t.APIServer}}
}

// Lines are the tools, one "name  path" line each, in build order.
func (t *Tools) Lines() []string {
	var out []string
	for _, p := range t.programs() {
		out = append(out, p.name+"  "+*p.path)
	}
	return out
}

// Dir is the folder of the tools in the cache.
func Dir() (string, error) {
	cache, err := assets.CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "kubernetes-"+KubernetesVersion), nil
}

// Find returns the tools when every one is built, else an error that says
// how to build them.
func Find() (*Tools, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	t := toolsIn(dir)
	var missing []string
	for _, p := range t.programs() {
		if _, err := os.Stat(*p.path); err != nil {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the Kubernetes control plane is not built (%s missing from %s): run `kong setup --kubernetes` (about 20 minutes on 2 cores the first time)",
			strings.Join(missing, ", "), filepath.Join(dir, "bin"))
	}
	return t, nil
}

func toolsIn(dir string) *Tools {
	bin := filepath.Join(dir, "bin")
	return &Tools{APIServer: filepath.Join(bin, "kube-apiserver"), ControllerManager: filepath.Join(bin, "kube-controller-manager"),
		Scheduler: filepath.Join(bin, "kube-scheduler"), Etcd: filepath.Join(bin, "etcd"), Kwok: filepath.Join(bin, "kwok"),
		Stages: filepath.Join(dir, "kwok-stages.yaml"), Kubelet: filepath.Join(bin, "kubelet"),
		KubeProxy: filepath.Join(bin, "kube-proxy"), CoreDNS: filepath.Join(bin, "coredns"),
		PauseImage: filepath.Join(dir, "pause-image.tar")}
}

// Build builds whatever tool is missing from the cache with the go
// command, saying on out what it builds and how long it took, and returns
// them all. A tool already built is kept.
func Build(ctx context.Context, out io.Writer, log *slog.Logger) (*Tools, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("building the Kubernetes control plane needs the go command (Go 1.26), which is not on PATH")
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w (set KONG_CACHE to a writable folder)", dir, err)
	}
	unlock, err := lock(ctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	t := toolsIn(dir)
	for _, p := range t.programs() {
		if _, err := os.Stat(*p.path); err == nil {
			continue
		}
		start := time.Now()
		fmt.Fprintf(out, "building %s into %s\n", p.name, filepath.Dir(*p.path))
		if err := build(ctx, goCmd, dir, p.name, *p.path, log); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "built %s in %s\n", p.name, time.Since(start).Round(time.Second))
	}
	return t, nil
}

// build builds one program into path (through a temporary name, so that
// an interrupted build leaves nothing that Find would take).
func build(ctx context.Context, goCmd, dir, name, path string, log *slog.Logger) error {
	tmp := path + ".partial"
	defer os.Remove(tmp)
	var args []string
	var workdir string
	switch name {
	case "kwok-stages":
		return stages(ctx, goCmd, dir, path)
	case "pause-image":
		return pauseImage(ctx, goCmd, dir, path, log)
	case "etcd":
		// etcd's server module replaces its sibling modules with folders
		// of its repository, so go install refuses it: it is built in a
		// module of its own that requires it.
		src := filepath.Join(dir, "src-etcd")
		if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		}
		mod := "// Generated by kong setup --kubernetes: the module etcd is built in.\nmodule kong.local/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 " + EtcdVersion + "\n"
		if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(mod), 0o644); err != nil {
			return err
		}
		args, workdir = []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", tmp, "go.etcd.io/etcd/server/v3"}, src
	case "kwok":
		args, workdir = []string{"install", "sigs.k8s.io/kwok/cmd/kwok@" + KwokVersion}, dir
	case "coredns":
		// CoreDNS with the plugins a node's cluster DNS needs alone (its
		// own main links every plugin it has, cloud DNS APIs included),
		// as CoreDNS documents a build with a chosen set of plugins.
		src := filepath.Join(dir, "src-coredns")
		if err := coreDNSModule(ctx, goCmd, src, log); err != nil {
			return err
		}
		args, workdir = []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", tmp, "."}, src
	default:
		src := filepath.Join(dir, "src")
		if err := wrapperModule(ctx, goCmd, src, log); err != nil {
			return err
		}
		ldflags := "-s -w -X k8s.io/component-base/version.gitVersion=" + KubernetesVersion
		args, workdir = []string{"build", "-trimpath", "-ldflags", ldflags, "-o", tmp, "k8s.io/kubernetes/cmd/" + name}, src
	}
	env := []string{"GOFLAGS=-mod=mod"}
	if args[0] == "install" {
		// go install names the program after its package (kwok); it goes
		// to a folder of its own, then moves.
		gobin := filepath.Join(dir, "gobin-"+name)
		defer os.RemoveAll(gobin)
		env = append(env, "GOBIN="+gobin)
		if err := run(ctx, goCmd, workdir, env, log, args...); err != nil {
			return fmt.Errorf("building %s: %w", name, err)
		}
		return os.Rename(filepath.Join(gobin, name), path)
	}
	if err := run(ctx, goCmd, workdir, env, log, args...); err != nil {
		return fmt.Errorf("building %s: %w", name, err)
	}
	return os.Rename(tmp, path)
}

// stageFiles are kwok's stages that make its nodes Ready and keep them so,
// take pods through Ready, completion and deletion, and provision, bind
// and delete the volumes of its storage class (StorageClass), at once.
var stageFiles = []string{"node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml",
	"volume/fast/pvc-provision.yaml", "volume/fast/pv-bind.yaml", "volume/fast/pvc-delete.yaml", "volume/fast/pv-delete.yaml"}

// stages writes kwok's stages, from its module, into one file at path.
func stages(ctx context.Context, goCmd, dir, path string) error {
	_, src, err := download(ctx, goCmd, dir, "sigs.k8s.io/kwok@"+KwokVersion)
	if err != nil {
		return err
	}
	var docs []string
	for _, f := range stageFiles {
		b, err := os.ReadFile(filepath.Join(src, "kustomize", "stage", f))
		if err != nil {
			return fmt.Errorf("kwok's stage %s: %w", f, err)
		}
		docs = append(docs, strings.TrimSpace(string(b)))
	}
	tmp := path + ".partial"
	if err := os.WriteFile(tmp, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// download fetches module (path@version) into the module cache with the go
// command, and returns its go.mod file and its folder there.
func download(ctx context.Context, goCmd, dir, module string) (goMod, src string, err error) {
	var info bytes.Buffer
	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", module)
	cmd.Dir, cmd.Stdout = dir, &info
	runErr := cmd.Run()
	var m struct{ GoMod, Dir, Error string }
	if err := json.Unmarshal(info.Bytes(), &m); err != nil && runErr == nil {
		return "", "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	switch {
	case m.Error != "":
		return "", "", fmt.Errorf("fetching %s from the Go module proxy: %s", module, m.Error)
	case runErr != nil:
		return "", "", fmt.Errorf("fetching %s from the Go module proxy: %w", module, runErr)
	case m.GoMod == "" || m.Dir == "":
		return "", "", fmt.Errorf("go mod download named no go.mod or folder for %s", module)
	}
	return m.GoMod, m.Dir, nil
}

// stagingRe matches the replace lines of k8s.io/kubernetes's go.mod that
// point a staging module at its folder in the repository.
var stagingRe = regexp.MustCompile(`^\s*(k8s\.io/[a-z0-9-]+) => \./staging/src/k8s\.io/[a-z0-9-]+\s*$`)

// wrapperModule writes the module the Kubernetes programs are built in:
// k8s.io/kubernetes requires its staging modules at v0.0.0 (they live in
// its repository), so they are replaced by their published release of
// the same version.
func wrapperModule(ctx context.Context, goCmd, src string, log *slog.Logger) error {
	if _, err := os.Stat(filepath.Join(src, "go.sum")); err == nil {
		return nil
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	goMod, _, err := download(ctx, goCmd, src, "k8s.io/kubernetes@"+KubernetesVersion)
	if err != nil {
		return err
	}
	mod, err := os.ReadFile(goMod)
	if err != nil {
		return err
	}
	minor := "v0." + strings.TrimPrefix(KubernetesVersion, "v1.")
	var b strings.Builder
	b.WriteString("// Generated by kong setup --kubernetes: the module the control plane is built in.\nmodule kong.local/kubetools\n\ngo 1.26.0\n\nreplace (\n")
	staging := 0
	sc := bufio.NewScanner(bytes.NewReader(mod))
	for sc.Scan() {
		if s := stagingRe.FindStringSubmatch(sc.Text()); s != nil {
			fmt.Fprintf(&b, "\t%s => %s %s\n", s[1], s[1], minor)
			staging++
		}
	}
	b.WriteString(")\n")
	if staging == 0 {
		return fmt.Errorf("k8s.io/kubernetes@%s's go.mod replaces no staging module: kong does not know how to build this release", KubernetesVersion)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	var pkgs []string
	for _, p := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		pkgs = append(pkgs, "k8s.io/kubernetes/cmd/"+p+"@"+KubernetesVersion)
	}
	if err := run(ctx, goCmd, src, nil, log, append([]string{"get"}, pkgs...)...); err != nil {
		os.Remove(filepath.Join(src, "go.sum"))
		return fmt.Errorf("resolving the modules of k8s.io/kubernetes@%s: %w", KubernetesVersion, err)
	}
	return nil
}

// coreDNSMain is the main package of the CoreDNS that setup builds: the
// server, and the plugins of a node's cluster DNS in the order they run.
const coreDNSMain = `// Generated by kong setup --kubernetes: CoreDNS with the plugins a real
// node's cluster DNS needs.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
)

func init() { dnsserver.Directives = []string{"bind", "errors", "cache", "kubernetes"} }

func main() { coremain.Run() }
`

// coreDNSModule writes the module CoreDNS is built in (coreDNSMain) and
// resolves its requirements, once.
func coreDNSModule(ctx context.Context, goCmd, src string, log *slog.Logger) error {
	if _, err := os.Stat(filepath.Join(src, "go.sum")); err == nil {
		return nil
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	mod := "// Generated by kong setup --kubernetes: the module CoreDNS is built in.\nmodule kong.local/coredns\n\ngo 1.26.0\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(mod), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(coreDNSMain), 0o644); err != nil {
		return err
	}
	if err := run(ctx, goCmd, src, nil, log, "get", "github.com/coredns/coredns@"+CoreDNSVersion); err != nil {
		return fmt.Errorf("resolving CoreDNS %s: %w", CoreDNSVersion, err)
	}
	if err := run(ctx, goCmd, src, nil, log, "mod", "tidy"); err != nil {
		os.Remove(filepath.Join(src, "go.sum"))
		return fmt.Errorf("resolving CoreDNS %s's modules: %w", CoreDNSVersion, err)
	}
	return nil
}

// run runs the go command in dir, its output to the log; a failure
// carries the output's last lines.
func run(ctx context.Context, goCmd, dir string, env []string, log *slog.Logger, args ...string) error {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var got bytes.Buffer
	cmd.Stdout, cmd.Stderr = &got, &got
	log.Debug("go", "args", args, "dir", dir)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, topology.LastLines(got.Bytes(), 10))
	}
	return nil
}

// lock takes the tools folder's lock, so that two setups build once.
func lock(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := flock.Wait(ctx, f); err != nil {
		f.Close()
		return nil, fmt.Errorf("waiting for the lock %s (another kong setup --kubernetes holds it): %w", path, err)
	}
	return func() { f.Close() }, nil
}
