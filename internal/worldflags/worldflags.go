// Package worldflags is the flags that name a world and its topology, as
// kong's commands and kong serve world read them: the root's persistent
// --world and --home, and a command's own --profile and --topology.
package worldflags

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/complete"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local"
)

// Spec is --profile and --topology: the topology a command works on.
type Spec struct {
	Profile string
	File    string
}

// Register adds --profile and --topology to cmd.
func (f *Spec) Register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Profile, "profile", "default", "embedded topology profile: "+strings.Join(topology.Profiles(), ", "))
	cmd.Flags().StringVar(&f.File, "topology", "", "topology YAML file (overrides --profile)")
	_ = cmd.RegisterFlagCompletionFunc("profile", complete.Flag(complete.Fixed(topology.Profiles()...)))
}

// Load reads the topology file --topology names, else the profile
// --profile names.
func (f *Spec) Load() (*topology.Spec, error) {
	if f.File != "" {
		return topology.Load(f.File)
	}
	return topology.Profile(f.Profile)
}

// World is the world --world names.
func World(cmd *cobra.Command) string {
	v, _ := cmd.Flags().GetString("world")
	return v
}

// Home is the folder of worlds' state --home names, else local.Home.
func Home(cmd *cobra.Command) string {
	if v, _ := cmd.Flags().GetString("home"); v != "" {
		return v
	}
	return local.Home()
}
