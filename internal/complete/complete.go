// Package complete is the shell completion of kong's command line (kong
// completion bash|zsh|fish|powershell): the names of scenarios, faults,
// worlds and a world's components, each with its description where it has
// one. Each function is a cobra completion function, or builds one.
package complete

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/scenarios"
	"github.com/kongchaos/kong/topology"
)

// Names lists what a completion offers, for the command being completed.
type Names func(cmd *cobra.Command) ([]cobra.Completion, error)

// Arg completes a command's one argument with names, those that start
// with what is typed; nothing after it.
func Arg(names Names) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return Flag(names)(cmd, args, toComplete)
	}
}

// Flag completes a flag's value with names, those that start with what is
// typed.
func Flag(names Names) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		all, err := names(cmd)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return slices.DeleteFunc(all, func(c cobra.Completion) bool { return !strings.HasPrefix(c, toComplete) }), cobra.ShellCompDirectiveNoFileComp
	}
}

// Scenarios are the registered scenarios (kong run SCENARIO).
func Scenarios(*cobra.Command) ([]cobra.Completion, error) {
	var out []cobra.Completion
	for _, s := range scenarios.All() {
		out = append(out, cobra.CompletionWithDesc(s.Name, s.Description))
	}
	return out, nil
}

// ScenarioList completes a comma-separated list of scenarios (kong gameday
// --scenarios): after what is typed up to its last comma, each scenario not
// in the list yet.
func ScenarioList(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	given, last := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		given, last = toComplete[:i+1], toComplete[i+1:]
	}
	var out []cobra.Completion
	for _, s := range scenarios.All() {
		if strings.HasPrefix(s.Name, last) && !slices.Contains(strings.Split(given, ","), s.Name) {
			out = append(out, cobra.CompletionWithDesc(given+s.Name, s.Description))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// Faults are the faults of the catalogue (kong faults NAME).
func Faults(*cobra.Command) ([]cobra.Completion, error) {
	var out []cobra.Completion
	for _, e := range fault.Catalogue() {
		out = append(out, cobra.CompletionWithDesc(e.Name, e.Description))
	}
	return out, nil
}

// Backend is the backend a command names (--backend, --home).
type Backend func(cmd *cobra.Command) (topology.Backend, error)

// Worlds are the worlds of the command's backend (--world).
func Worlds(backend Backend) Names {
	return func(cmd *cobra.Command) ([]cobra.Completion, error) {
		b, err := backend(cmd)
		if err != nil {
			return nil, err
		}
		return b.Worlds(cmd.Context())
	}
}

// Components are the components of the world the command names (kong
// logs COMPONENT, kong stop COMPONENT), each with its state.
func Components(backend Backend, world func(cmd *cobra.Command) string) Names {
	return inWorld(backend, world, func(_ topology.Cluster, comps []topology.Status) []cobra.Completion {
		var out []cobra.Completion
		for _, s := range comps {
			out = append(out, cobra.CompletionWithDesc(s.ID, string(s.State)))
		}
		return out
	})
}

// Nodes are what kong nodetool and kong cqlsh take: the regions of the
// world the command names, then its Cassandra nodes.
func Nodes(backend Backend, world func(cmd *cobra.Command) string) Names {
	return inWorld(backend, world, func(c topology.Cluster, comps []topology.Status) []cobra.Completion {
		out := c.Spec().RegionNames()
		for _, s := range comps {
			if s.Kind == topology.KindCassandra {
				out = append(out, cobra.CompletionWithDesc(s.ID, string(s.State)))
			}
		}
		return out
	})
}

// inWorld are the names that names finds in the world the command names.
func inWorld(backend Backend, world func(cmd *cobra.Command) string, names func(topology.Cluster, []topology.Status) []cobra.Completion) Names {
	return func(cmd *cobra.Command) ([]cobra.Completion, error) {
		b, err := backend(cmd)
		if err != nil {
			return nil, err
		}
		c, release, err := b.Attach(cmd.Context(), world(cmd))
		if err != nil {
			return nil, err
		}
		defer release()
		comps, err := c.Components(cmd.Context())
		if err != nil {
			return nil, err
		}
		return names(c, comps), nil
	}
}

// Fixed are these names.
func Fixed(names ...string) Names {
	return func(*cobra.Command) ([]cobra.Completion, error) { return names, nil }
}

// Dirs completes a folder (a run's artifacts folder: kong report, kong
// diff).
func Dirs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}
