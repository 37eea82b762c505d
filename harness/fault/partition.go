package fault

import (
	"context"
	"errors"
	"fmt"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/kongchaos/kong/topology"
)

// Faults on the cross-region links. A link (topology.Link) is one direction
// between two regions, and every toxiproxy proxy belongs to exactly one
// link, so a fault on some links touches nothing else.

func init() {
	Register(Entry{Name: "partition", Targets: []Scope{ScopeLink},
		Description: "cut links: every toxiproxy proxy of the links disabled (both directions between two regions: split-brain)",
		New:         OnTarget(PartitionLinks)})
}

// Partition cuts links: it disables every toxiproxy proxy of the links
// (toxiproxy closes their listeners and drops their connections) and
// re-enables them to heal. Cutting both directions between two regions is a
// complete partition between them (split-brain); cutting one direction is an
// asymmetric partition.
type Partition struct {
	cluster topology.Cluster
	target  Target
	err     error
}

// PartitionRegions cuts the links between regions a and b, both directions.
func PartitionRegions(c topology.Cluster, a, b string) *Partition {
	t, err := Between(a, b).Select(context.Background(), c)
	return &Partition{cluster: c, target: t, err: err}
}

// IsolateRegion cuts every link between region and the other regions
// (Isolating): the others keep replicating with each other.
func IsolateRegion(c topology.Cluster, region string) *Partition {
	t, err := Isolating(region).Select(context.Background(), c)
	return &Partition{cluster: c, target: t, err: err}
}

// PartitionLinks cuts the links of t (from Link, Between or All).
func PartitionLinks(c topology.Cluster, t Target) *Partition {
	return &Partition{cluster: c, target: t}
}

// Name implements Fault.
func (p *Partition) Name() string { return "partition" }

// Target implements Fault.
func (p *Partition) Target() Target { return p.target }

// ToxiproxyAPI implements LinkFault.
func (p *Partition) ToxiproxyAPI() string { return p.cluster.ToxiproxyAPI() }

// Setup implements Fault: the target is links, and their proxies exist.
func (p *Partition) Setup(context.Context) error {
	if p.err != nil {
		return p.err
	}
	if len(p.target.Links) == 0 || len(p.target.Components) > 0 {
		return fmt.Errorf("partition needs links to cut, got %s", p.target)
	}
	_, err := linkProxies(p.cluster, p.target.Links)
	return err
}

// Inject implements Fault: disable every proxy of the links.
func (p *Partition) Inject(context.Context) error {
	return eachProxy(p.cluster, p.target.Links, func(px *toxiclient.Proxy) error { return px.Disable() }, "disable")
}

// WaitInjected implements Fault: toxiproxy lists every proxy of the links as
// disabled, and a TCP dial to each proxy's listener fails.
func (p *Partition) WaitInjected(ctx context.Context) error {
	return PollUntil(ctx, "links "+p.target.String()+" cut: every proxy disabled and refusing connections", func(ctx context.Context) error {
		return everyProxy(p.cluster, p.target.Links, func(px *toxiclient.Proxy) error {
			if px.Enabled {
				return fmt.Errorf("proxy %s is still enabled", px.Name)
			}
			return refusesConnections(ctx, "proxy "+px.Name, px.Listen)
		})
	})
}

// Recover implements Fault: enable every proxy of the links.
func (p *Partition) Recover(context.Context) error {
	return eachProxy(p.cluster, p.target.Links, func(px *toxiclient.Proxy) error {
		if px.Enabled {
			return nil
		}
		return px.Enable()
	}, "enable")
}

// WaitRecovered implements Fault: every proxy is enabled again and the SQS
// endpoint of each link's destination answers HTTP through the link.
func (p *Partition) WaitRecovered(ctx context.Context) error {
	return PollUntil(ctx, "links "+p.target.String()+" carrying traffic again", func(ctx context.Context) error {
		err := everyProxy(p.cluster, p.target.Links, func(px *toxiclient.Proxy) error {
			if !px.Enabled {
				return fmt.Errorf("proxy %s is still disabled", px.Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return LinksAnswer(ctx, p.cluster, p.target.Links)
	})
}

// Cleanup implements Fault.
func (p *Partition) Cleanup(context.Context) error { return nil }

// linkProxies fetches the toxiproxy state of every proxy of the links.
func linkProxies(c topology.Cluster, links []topology.Link) ([]*toxiclient.Proxy, error) {
	all, err := toxiclient.NewClient(c.ToxiproxyAPI()).Proxies()
	if err != nil {
		return nil, fmt.Errorf("list the proxies at toxiproxy %s: %w", c.ToxiproxyAPI(), err)
	}
	var out []*toxiclient.Proxy
	for _, l := range links {
		for _, name := range l.Proxies {
			px, ok := all[name]
			if !ok {
				return nil, fmt.Errorf("link %s: toxiproxy %s has no proxy %s", l.Name, c.ToxiproxyAPI(), name)
			}
			out = append(out, px)
		}
	}
	return out, nil
}

// everyProxy checks every proxy of the links as toxiproxy lists it now, and
// returns the first complaint of check.
func everyProxy(c topology.Cluster, links []topology.Link, check func(*toxiclient.Proxy) error) error {
	proxies, err := linkProxies(c, links)
	if err != nil {
		return err
	}
	for _, px := range proxies {
		if err := check(px); err != nil {
			return err
		}
	}
	return nil
}

// eachProxy runs f on every proxy of the links (a client-bound copy, so that
// it can change it), all of them even when one fails.
func eachProxy(c topology.Cluster, links []topology.Link, f func(*toxiclient.Proxy) error, verb string) error {
	client := toxiclient.NewClient(c.ToxiproxyAPI())
	var errs []error
	for _, l := range links {
		for _, name := range l.Proxies {
			px, err := client.Proxy(name)
			if err == nil {
				err = f(px)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s proxy %s of link %s: %w", verb, name, l.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
