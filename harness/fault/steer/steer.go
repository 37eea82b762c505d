// Package steer holds the faults that change where the director sends
// users while every server stays healthy: a director that bounces sessions
// between regions (bounce-sessions), and one that believes every region
// has the same capacity and so splits an evacuated region's users evenly
// (flat-capacity). Each registers itself in the fault catalogue and heals
// like every fault.
package steer

import (
	"fmt"

	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/topology"
)

// directors are the directors among t's components.
func directors(t fault.Target) []topology.Component {
	var out []topology.Component
	for _, c := range t.Components {
		if c.Kind == topology.KindDirector {
			out = append(out, c)
		}
	}
	return out
}

// oneDirector says why fault name cannot steer through dir, found in t: it
// needs the world's one director.
func oneDirector(name string, dir []topology.Component, t fault.Target) error {
	if len(dir) != 1 {
		return fmt.Errorf("%s: %d directors in %s, want the one of the world", name, len(dir), t)
	}
	return nil
}

// admin is the admin client of the world's director d.
func admin(c topology.Cluster, d topology.Component) director.AdminClient {
	return director.NewAdminClient("http://"+d.Address, c.Secret())
}
