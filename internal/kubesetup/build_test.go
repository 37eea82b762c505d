package kubesetup

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Find names what is missing and the command that builds it; once every
// tool is in the cache, it finds them there.
func TestFindSaysHowToBuild(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("KONG_CACHE", cache)
	_, err := Find()
	require.ErrorContains(t, err, "kong setup --kubernetes")
	require.ErrorContains(t, err, "kube-apiserver")

	dir, err := Dir()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(cache, "kubernetes-"+KubernetesVersion), dir)
	tools := toolsIn(dir)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	for _, p := range tools.programs()[:len(tools.programs())-1] {
		require.NoError(t, os.WriteFile(*p.path, []byte("#!/bin/sh\n"), 0o755))
	}
	_, err = Find()
	require.ErrorContains(t, err, "(kube-apiserver missing from")
	require.NoError(t, os.WriteFile(tools.APIServer, []byte("#!/bin/sh\n"), 0o755))
	got, err := Find()
	require.NoError(t, err)
	require.Equal(t, tools, got)
}

// The wrapper module replaces exactly the staging modules of
// k8s.io/kubernetes's go.mod.
func TestStagingLines(t *testing.T) {
	require.NotNil(t, stagingRe.FindStringSubmatch("\tk8s.io/client-go => ./staging/src/k8s.io/client-go"))
	require.Nil(t, stagingRe.FindStringSubmatch("\tk8s.io/klog/v2 v2.130.1 // indirect"))
	require.Nil(t, stagingRe.FindStringSubmatch("\tgithub.com/x/y => ../y"))
}

// download names a module's go.mod and folder in the module cache, and says
// what the go command said when it cannot.
func TestDownload(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	require.NoError(t, err)
	goMod, dir, err := download(context.Background(), goCmd, t.TempDir(), "sigs.k8s.io/kwok@"+KwokVersion)
	require.NoError(t, err)
	require.FileExists(t, goMod)
	for _, f := range stageFiles {
		require.FileExists(t, filepath.Join(dir, "kustomize", "stage", f), "kwok %s has no stage %s", KwokVersion, f)
	}
	t.Setenv("GOPROXY", "off")
	_, _, err = download(context.Background(), goCmd, t.TempDir(), "example.com/no/such/module@v0.0.1")
	require.ErrorContains(t, err, "fetching example.com/no/such/module@v0.0.1 from the Go module proxy")
}

// A NAT rule as iptables -S prints it splits into the arguments that
// delete it, its quoted comment whole, and names the chain it jumps to.
func TestIPTablesArgs(t *testing.T) {
	rule := `-A POSTROUTING -s 10.244.0.18/32 -m comment --comment "name: \"kong-node\" id: \"e46b\"" -j CNI-c5c3dff4da91cbe6d8c46478`
	args, jump := iptablesArgs(rule)
	require.Equal(t, []string{"-A", "POSTROUTING", "-s", "10.244.0.18/32", "-m", "comment", "--comment",
		`name: "kong-node" id: "e46b"`, "-j", "CNI-c5c3dff4da91cbe6d8c46478"}, args)
	require.Equal(t, "CNI-c5c3dff4da91cbe6d8c46478", jump)
	require.Contains(t, rule, fmt.Sprintf(`name: \"%s\"`, cniNetwork), "the tag removeCNIRules looks for")
}
