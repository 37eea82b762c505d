package fault

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/kongchaos/kong/topology"
)

// Faults on the cross-region links. A link (topology.Link) is one direction
// between two regions, and every toxiproxy proxy belongs to exactly one
// link, so a fault on some links touches nothing else.

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
	return pollUntil(ctx, "links "+p.target.String()+" cut: every proxy disabled and refusing connections", func(ctx context.Context) error {
		proxies, err := linkProxies(p.cluster, p.target.Links)
		if err != nil {
			return err
		}
		for _, px := range proxies {
			if px.Enabled {
				return fmt.Errorf("proxy %s is still enabled", px.Name)
			}
			if err := refusesConnections(ctx, "proxy "+px.Name, px.Listen); err != nil {
				return err
			}
		}
		return nil
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
	return pollUntil(ctx, "links "+p.target.String()+" carrying traffic again", func(ctx context.Context) error {
		proxies, err := linkProxies(p.cluster, p.target.Links)
		if err != nil {
			return err
		}
		for _, px := range proxies {
			if !px.Enabled {
				return fmt.Errorf("proxy %s is still disabled", px.Name)
			}
		}
		return linksAnswer(ctx, p.cluster, p.target.Links)
	})
}

// Cleanup implements Fault.
func (p *Partition) Cleanup(context.Context) error { return nil }

// linksAnswer checks that an HTTP request crosses each link to the SQS
// endpoint of its destination.
func linksAnswer(ctx context.Context, c topology.Cluster, links []topology.Link) error {
	for _, l := range links {
		ep := c.SQSEndpoint(l.From, l.To)
		if ep == "" {
			continue
		}
		if err := answersHTTP(ctx, ep); err != nil {
			return fmt.Errorf("SQS of %s through link %s (%s) does not answer: %w", l.To, l.Name, ep, err)
		}
	}
	return nil
}

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

// ToxicKind is a kind of damage toxiproxy does to a link's traffic.
type ToxicKind string

// Toxic kinds and their attributes (toxiproxy's names and units).
const (
	// ToxicLatency delays data: "latency" (ms), optional "jitter" (ms).
	ToxicLatency ToxicKind = "latency"
	// ToxicJitter is latency with jitter (toxiproxy's latency toxic):
	// "latency" and "jitter" (ms), each chunk delayed by latency ± jitter.
	ToxicJitter ToxicKind = "jitter"
	// ToxicBandwidth limits throughput: "rate" (KB/s).
	ToxicBandwidth ToxicKind = "bandwidth"
	// ToxicResetPeer resets connections (TCP RST) after "timeout" (ms).
	ToxicResetPeer ToxicKind = "reset_peer"
	// ToxicTimeout stops all data and closes the connection after
	// "timeout" (ms; 0: never closes, a black hole).
	ToxicTimeout ToxicKind = "timeout"
)

// toxicAttrs lists each kind's toxiproxy type, required and optional attributes.
var toxicAttrs = map[ToxicKind]struct {
	typ                string
	required, optional []string
}{
	ToxicLatency:   {"latency", []string{"latency"}, []string{"jitter"}},
	ToxicJitter:    {"latency", []string{"latency", "jitter"}, nil},
	ToxicBandwidth: {"bandwidth", []string{"rate"}, nil},
	ToxicResetPeer: {"reset_peer", nil, []string{"timeout"}},
	ToxicTimeout:   {"timeout", nil, []string{"timeout"}},
}

// Stream is the direction of a link's traffic a toxic applies to.
//
// A link from->to carries connections that from's side opens to to's side
// (Cassandra internode messages sent by from's nodes, invalidations sent to
// to's SQS queue, isthmus requests to to's gateway). Upstream is the data
// from sends to to: the link's own direction, and the only one Cassandra's
// internode connections carry messages in (each node sends on its own
// outbound connections). Downstream is what comes back to from: HTTP
// answers of SQS and of the isthmus gateway. A latency toxic on both
// streams delays a request-answer exchange twice.
type Stream string

const (
	Upstream    Stream = "upstream"
	Downstream  Stream = "downstream"
	BothStreams Stream = "both"
)

// Toxic says what a LinkToxicFault does to each link's traffic.
type Toxic struct {
	Kind ToxicKind
	// Attributes are toxiproxy's, by kind (see ToxicKind).
	Attributes map[string]int64
	// Stream is the direction it applies to (default Upstream).
	Stream Stream
	// Toxicity is the share of connections it applies to, in (0,1]
	// (0 means 1: every connection).
	Toxicity float64
}

// LatencyToxic delays every upstream chunk of a link by d.
func LatencyToxic(d time.Duration) Toxic {
	return Toxic{Kind: ToxicLatency, Attributes: map[string]int64{"latency": d.Milliseconds()}}
}

// JitterToxic delays every upstream chunk by latency ± jitter.
func JitterToxic(latency, jitter time.Duration) Toxic {
	return Toxic{Kind: ToxicJitter, Attributes: map[string]int64{"latency": latency.Milliseconds(), "jitter": jitter.Milliseconds()}}
}

// BandwidthToxic limits a link's upstream to kbPerSecond KB/s.
func BandwidthToxic(kbPerSecond int64) Toxic {
	return Toxic{Kind: ToxicBandwidth, Attributes: map[string]int64{"rate": kbPerSecond}}
}

// ResetPeerToxic resets a link's connections after d.
func ResetPeerToxic(d time.Duration) Toxic {
	return Toxic{Kind: ToxicResetPeer, Attributes: map[string]int64{"timeout": d.Milliseconds()}}
}

// TimeoutToxic stops a link's data and closes its connections after d (0:
// holds them open forever, a black hole).
func TimeoutToxic(d time.Duration) Toxic {
	return Toxic{Kind: ToxicTimeout, Attributes: map[string]int64{"timeout": d.Milliseconds()}}
}

// LinkToxicFault degrades links with a toxiproxy toxic (Latency Monkey:
// latency, jitter, bandwidth, resets, black holes), on every proxy of the
// links, in the toxic's stream(s). Its toxics are named kong-<kind>-<stream>,
// so faults of different kinds can be stacked on one link.
type LinkToxicFault struct {
	cluster topology.Cluster
	target  Target
	toxic   Toxic
}

// LinkToxic degrades the links of t (from Link, Between or All) with x.
func LinkToxic(c topology.Cluster, t Target, x Toxic) *LinkToxicFault {
	x.Attributes = maps.Clone(x.Attributes)
	if x.Stream == "" {
		x.Stream = Upstream
	}
	if x.Toxicity == 0 {
		x.Toxicity = 1
	}
	return &LinkToxicFault{cluster: c, target: t, toxic: x}
}

// Name implements Fault: "link-" and the toxic's kind.
func (f *LinkToxicFault) Name() string { return "link-" + string(f.toxic.Kind) }

// Target implements Fault.
func (f *LinkToxicFault) Target() Target { return f.target }

// Toxic is what the fault does to each link.
func (f *LinkToxicFault) Toxic() Toxic { return f.toxic }

// ToxiproxyAPI implements LinkFault.
func (f *LinkToxicFault) ToxiproxyAPI() string { return f.cluster.ToxiproxyAPI() }

// Args implements FaultArgs.
func (f *LinkToxicFault) Args() map[string]string {
	out := map[string]string{"toxic": string(f.toxic.Kind), "stream": string(f.toxic.Stream),
		"toxicity": strconv.FormatFloat(f.toxic.Toxicity, 'g', -1, 64)}
	for k, v := range f.toxic.Attributes {
		out[k] = strconv.FormatInt(v, 10)
	}
	return out
}

// streams are the toxiproxy streams the toxic goes on.
func (f *LinkToxicFault) streams() []string {
	if f.toxic.Stream == BothStreams {
		return []string{string(Upstream), string(Downstream)}
	}
	return []string{string(f.toxic.Stream)}
}

func (f *LinkToxicFault) toxicName(stream string) string {
	return "kong-" + string(f.toxic.Kind) + "-" + stream
}

// Setup implements Fault: the kind, attributes, stream and toxicity are
// valid, the target is links, and their proxies exist.
func (f *LinkToxicFault) Setup(context.Context) error {
	x := f.toxic
	spec, ok := toxicAttrs[x.Kind]
	if !ok {
		kinds := make([]string, 0, len(toxicAttrs))
		for k := range toxicAttrs {
			kinds = append(kinds, string(k))
		}
		sort.Strings(kinds)
		return fmt.Errorf("link toxic %q: unknown kind, use one of %s", x.Kind, strings.Join(kinds, ", "))
	}
	for _, a := range spec.required {
		if _, ok := x.Attributes[a]; !ok {
			return fmt.Errorf("link toxic %s: attribute %q is required", x.Kind, a)
		}
	}
	for a, v := range x.Attributes {
		if !slices.Contains(spec.required, a) && !slices.Contains(spec.optional, a) {
			return fmt.Errorf("link toxic %s: unknown attribute %q (it takes %s)", x.Kind, a, strings.Join(append(slices.Clone(spec.required), spec.optional...), ", "))
		}
		if v < 0 {
			return fmt.Errorf("link toxic %s: attribute %s=%d must be >= 0", x.Kind, a, v)
		}
	}
	if x.Kind == ToxicJitter && x.Attributes["jitter"] <= 0 {
		return fmt.Errorf("link toxic jitter: give a jitter > 0 (or use %s)", ToxicLatency)
	}
	switch x.Stream {
	case Upstream, Downstream, BothStreams:
	default:
		return fmt.Errorf("link toxic %s: stream %q, use %s, %s or %s", x.Kind, x.Stream, Upstream, Downstream, BothStreams)
	}
	if !(x.Toxicity > 0 && x.Toxicity <= 1) {
		return fmt.Errorf("link toxic %s: toxicity %v must be in (0,1]", x.Kind, x.Toxicity)
	}
	if len(f.target.Links) == 0 || len(f.target.Components) > 0 {
		return fmt.Errorf("link toxic %s needs links, got %s", x.Kind, f.target)
	}
	_, err := linkProxies(f.cluster, f.target.Links)
	return err
}

func (f *LinkToxicFault) attributes() toxiclient.Attributes {
	out := toxiclient.Attributes{}
	for k, v := range f.toxic.Attributes {
		out[k] = v
	}
	return out
}

// Inject implements Fault: add the toxic to every proxy of the links (or
// update it when a toxic of that name is there already).
func (f *LinkToxicFault) Inject(context.Context) error {
	typ := toxicAttrs[f.toxic.Kind].typ
	return eachProxy(f.cluster, f.target.Links, func(px *toxiclient.Proxy) error {
		for _, stream := range f.streams() {
			name := f.toxicName(stream)
			_, err := px.AddToxic(name, typ, stream, float32(f.toxic.Toxicity), f.attributes())
			var api *toxiclient.ApiError
			if errors.As(err, &api) && api.Status == http.StatusConflict {
				_, err = px.UpdateToxic(name, float32(f.toxic.Toxicity), f.attributes())
			}
			if err != nil {
				return fmt.Errorf("toxic %s: %w", name, err)
			}
		}
		return nil
	}, "add a toxic to")
}

// WaitInjected implements Fault: toxiproxy lists the toxic, with its
// attributes, on every proxy of the links; toxiproxy applies a toxic to the
// connections already open as well as to new ones.
func (f *LinkToxicFault) WaitInjected(ctx context.Context) error {
	return pollUntil(ctx, fmt.Sprintf("toxic %s on every proxy of links %s", f.toxic.Kind, f.target), func(context.Context) error {
		proxies, err := linkProxies(f.cluster, f.target.Links)
		if err != nil {
			return err
		}
		for _, px := range proxies {
			for _, stream := range f.streams() {
				if err := f.hasToxic(px, stream); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (f *LinkToxicFault) hasToxic(px *toxiclient.Proxy, stream string) error {
	name := f.toxicName(stream)
	for _, t := range px.ActiveToxics {
		if t.Name != name {
			continue
		}
		for k, want := range f.toxic.Attributes {
			if got, ok := t.Attributes[k].(float64); !ok || int64(got) != want {
				return fmt.Errorf("proxy %s: toxic %s has %s=%v, want %d", px.Name, name, k, t.Attributes[k], want)
			}
		}
		if t.Stream != stream {
			return fmt.Errorf("proxy %s: toxic %s is on stream %s, want %s", px.Name, name, t.Stream, stream)
		}
		return nil
	}
	return fmt.Errorf("proxy %s has no toxic %s yet", px.Name, name)
}

// Recover implements Fault: remove the toxic from every proxy of the links
// (a toxic already gone is fine).
func (f *LinkToxicFault) Recover(context.Context) error {
	return eachProxy(f.cluster, f.target.Links, func(px *toxiclient.Proxy) error {
		for _, stream := range f.streams() {
			err := px.RemoveToxic(f.toxicName(stream))
			var api *toxiclient.ApiError
			if errors.As(err, &api) && api.Status == http.StatusNotFound {
				err = nil
			}
			if err != nil {
				return fmt.Errorf("toxic %s: %w", f.toxicName(stream), err)
			}
		}
		return nil
	}, "remove a toxic from")
}

// WaitRecovered implements Fault: no proxy of the links lists the toxic.
func (f *LinkToxicFault) WaitRecovered(ctx context.Context) error {
	return pollUntil(ctx, fmt.Sprintf("toxic %s gone from every proxy of links %s", f.toxic.Kind, f.target), func(context.Context) error {
		proxies, err := linkProxies(f.cluster, f.target.Links)
		if err != nil {
			return err
		}
		for _, px := range proxies {
			for _, stream := range f.streams() {
				for _, t := range px.ActiveToxics {
					if t.Name == f.toxicName(stream) {
						return fmt.Errorf("proxy %s still has toxic %s", px.Name, t.Name)
					}
				}
			}
		}
		return nil
	})
}

// Cleanup implements Fault.
func (f *LinkToxicFault) Cleanup(context.Context) error { return nil }
