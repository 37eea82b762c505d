package local

import (
	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/app/gateway"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
)

// The application's configurations follow from a plan alone, whatever its
// addresses are, so every backend writes them with these.

// MemberConfig is the configuration of member service instance c of plan p.
func MemberConfig(p *topology.Plan, c topology.Component) member.Config { return memberConfig(p, c) }

// GatewayConfig is the configuration of gateway g of plan p.
func GatewayConfig(p *topology.Plan, g topology.Component) gateway.Config {
	return gatewayConfig(p, g)
}

// DirectorConfig is the director's configuration of plan p.
func DirectorConfig(p *topology.Plan) director.Config { return directorConfig(p) }
