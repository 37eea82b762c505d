// Package steer holds the faults that change where the director sends
// users while every server stays healthy: a director that bounces sessions
// between regions (bounce-sessions), and one that believes every region
// has the same capacity and so splits an evacuated region's users evenly
// (flat-capacity). Each registers itself in the fault catalogue and heals
// like every fault.
package steer

import (
	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/topology"
)

// admin is the admin client of the world's director d.
func admin(c topology.Cluster, d topology.Component) director.AdminClient {
	return director.NewAdminClient("http://"+d.Address, c.Secret())
}
