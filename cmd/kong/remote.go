package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/internal/worldrun"
	"github.com/kongchaos/kong/topology/kube"
)

// inCluster runs the command inside the cluster when its world is on the
// kubernetes backend and this kong runs outside the cluster: a run Job of
// the world runs it there (the game day's traffic must not cross a
// port-forward), its output shows here as it comes, and its reports are
// copied into out. done is false, and nothing happens, for every other
// case.
func inCluster(cmd *cobra.Command, args []string, out string) (done bool, err error) {
	b, err := backendOf(cmd)
	if err != nil {
		return true, err
	}
	kb, ok := b.(*kube.Backend)
	if !ok || kb.InCluster {
		return false, nil
	}
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		return true, exitstatus.Usage(errors.New("--json from outside the cluster is not built yet: the run's report.json is copied into --out"))
	}
	world := worldflags.World(cmd)
	r, err := kb.Remote(world, cmd.OutOrStdout())
	if err != nil {
		return true, err
	}
	ctx, stop := worldrun.StopContext(cmd.Context())
	defer stop()
	// The first Ctrl-C stops the run in the cluster, which heals and
	// writes its reports; a second one is the default's: kong ends, and
	// the run's Job is left to end (or the world's healer to heal).
	go func() { <-ctx.Done(); stop() }()
	code, copied, err := r.Run(ctx, inClusterArgs(cmd, args, world, kb.Prefix), out)
	for _, c := range copied {
		fmt.Fprintf(cmd.OutOrStdout(), "copied from the cluster: %s\n", filepath.Join(out, c))
	}
	if err != nil {
		return true, exitstatus.With(exitstatus.World, err)
	}
	return true, remoteStatus(cmd.Name(), code)
}

// remoteStatus is kong's exit status for the status a command exited with
// in the cluster: the same where it is one of kong's, else World (a
// command killed by a signal, as by the kernel for memory).
func remoteStatus(name string, code int) error {
	switch code {
	case exitstatus.Held:
		return nil
	case exitstatus.NotHeld, exitstatus.BadInput, exitstatus.World:
		return exitstatus.With(code, errors.New(name+" in the cluster exited with status "+strconv.Itoa(code)))
	}
	why := "status " + strconv.Itoa(code)
	if code > 128 {
		why = "signal " + strconv.Itoa(code-128) + " (killed: out of memory, or its pod was deleted?)"
	}
	return exitstatus.With(exitstatus.World, errors.New(name+" in the cluster ended by "+why))
}

// outsideOnly are the flags that say how this kong reaches the cluster
// and where its files go: the run in the cluster is told its own.
var outsideOnly = map[string]bool{"kubeconfig": true, "context": true, "in-cluster": true, "backend": true,
	"namespace-prefix": true, "world": true, "home": true, "out": true}

// inClusterArgs is the command line of cmd with args for the kong inside
// the cluster: the same command, arguments and flags, on the world in
// its namespaces, reaching the API as its pod, writing under
// kube.JobReports.
func inClusterArgs(cmd *cobra.Command, args []string, world, prefix string) []string {
	line := []string{cmd.Name()}
	for p := cmd.Parent(); p != nil && p.HasParent(); p = p.Parent() {
		line = append([]string{p.Name()}, line...)
	}
	line = append(line, args...)
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if outsideOnly[f.Name] {
			return
		}
		if s, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range s.GetSlice() {
				line = append(line, "--"+f.Name+"="+v)
			}
			return
		}
		line = append(line, "--"+f.Name+"="+f.Value.String())
	})
	if prefix == "" {
		prefix = kube.DefaultPrefix
	}
	return append(line, "--backend", kube.BackendName, "--in-cluster", "--world", world, "--namespace-prefix", prefix, "--out", kube.JobReports)
}
