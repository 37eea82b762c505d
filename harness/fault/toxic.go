package fault

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/kongchaos/kong/topology"
)

// ToxicKind is a kind of damage toxiproxy does to a link's traffic.
type ToxicKind string

// toxicKind is one kind of toxic: the toxiproxy type it uses and its
// attributes. Adding a kind is one defineToxic: the kind's validation and
// its catalogue entry ("link-" and its name) follow from the row.
type toxicKind struct {
	typ   string // toxiproxy's type
	about string // what it does, for the catalogue
	attrs []toxicAttr
}

// toxicAttr is one of a kind's attributes, in toxiproxy's name and unit.
type toxicAttr struct {
	name, unit string
	required   bool
	positive   bool  // must be > 0
	def        int64 // in the catalogue
}

var toxicKinds = map[ToxicKind]toxicKind{}

func defineToxic(name string, k toxicKind) ToxicKind {
	toxicKinds[ToxicKind(name)] = k
	return ToxicKind(name)
}

// Toxic kinds and their attributes (toxiproxy's names and units).
var (
	// ToxicLatency delays data: "latency" (ms), optional "jitter" (ms).
	ToxicLatency = defineToxic("latency", toxicKind{typ: "latency", about: "delay every chunk of the links' data by latency (± jitter)",
		attrs: []toxicAttr{{name: "latency", unit: "ms", required: true, def: 200}, {name: "jitter", unit: "ms"}}})
	// ToxicJitter is latency with jitter (toxiproxy's latency toxic):
	// "latency" and "jitter" (ms), each chunk delayed by latency ± jitter.
	ToxicJitter = defineToxic("jitter", toxicKind{typ: "latency", about: "delay every chunk of the links' data by latency ± jitter",
		attrs: []toxicAttr{{name: "latency", unit: "ms", required: true, def: 150}, {name: "jitter", unit: "ms", required: true, positive: true, def: 50}}})
	// ToxicBandwidth limits throughput: "rate" (KB/s).
	ToxicBandwidth = defineToxic("bandwidth", toxicKind{typ: "bandwidth", about: "limit the links' throughput",
		attrs: []toxicAttr{{name: "rate", unit: "KB/s", required: true, def: 16}}})
	// ToxicResetPeer resets connections (TCP RST) after "timeout" (ms).
	ToxicResetPeer = defineToxic("reset_peer", toxicKind{typ: "reset_peer", about: "reset the links' connections (TCP RST) after timeout",
		attrs: []toxicAttr{{name: "timeout", unit: "ms"}}})
	// ToxicTimeout stops all data and closes the connection after
	// "timeout" (ms; 0: never closes, a black hole).
	ToxicTimeout = defineToxic("timeout", toxicKind{typ: "timeout", about: "stop the links' data and close their connections after timeout (0: a black hole)",
		attrs: []toxicAttr{{name: "timeout", unit: "ms"}}})
)

// init registers a catalogue entry for every toxic kind: "link-" and its
// name, with its attributes as parameters.
func init() {
	for kind, k := range toxicKinds {
		var params []Param
		for _, a := range k.attrs {
			params = append(params, Param{Name: a.name, Default: strconv.FormatInt(a.def, 10), Help: "in " + a.unit})
		}
		params = append(params, Param{Name: "stream", Default: string(Upstream), Help: "upstream (the link's own direction), downstream or both"},
			Param{Name: "toxicity", Default: "1", Help: "share of the connections it applies to, in (0,1]"})
		Register(Entry{Name: "link-" + string(kind), Description: k.about, Targets: []Scope{ScopeLink}, Params: params,
			New: func(c topology.Cluster, t Target, a *Args) (Fault, error) {
				x := Toxic{Kind: kind, Attributes: map[string]int64{}, Stream: Stream(a.String("stream")), Toxicity: a.Float("toxicity")}
				for _, attr := range k.attrs {
					x.Attributes[attr.name] = int64(a.Int(attr.name))
				}
				return LinkToxic(c, t, x), nil
			}})
	}
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
	spec, ok := toxicKinds[x.Kind]
	if !ok {
		var kinds []string
		for k := range toxicKinds {
			kinds = append(kinds, string(k))
		}
		slices.Sort(kinds)
		return fmt.Errorf("link toxic %q: unknown kind, use one of %s", x.Kind, strings.Join(kinds, ", "))
	}
	var names []string
	for _, a := range spec.attrs {
		names = append(names, a.name)
		v, given := x.Attributes[a.name]
		switch {
		case a.required && !given:
			return fmt.Errorf("link toxic %s: attribute %q is required", x.Kind, a.name)
		case a.positive && v <= 0:
			return fmt.Errorf("link toxic %s: give a %s > 0", x.Kind, a.name)
		}
	}
	for a, v := range x.Attributes {
		if !slices.Contains(names, a) {
			return fmt.Errorf("link toxic %s: unknown attribute %q (it takes %s)", x.Kind, a, strings.Join(names, ", "))
		}
		if v < 0 {
			return fmt.Errorf("link toxic %s: attribute %s=%d must be >= 0", x.Kind, a, v)
		}
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
	typ := toxicKinds[f.toxic.Kind].typ
	return f.eachStream(func(px *toxiclient.Proxy, stream string) error {
		name := f.toxicName(stream)
		_, err := px.AddToxic(name, typ, stream, float32(f.toxic.Toxicity), f.attributes())
		var api *toxiclient.ApiError
		if errors.As(err, &api) && api.Status == http.StatusConflict {
			_, err = px.UpdateToxic(name, float32(f.toxic.Toxicity), f.attributes())
		}
		return err
	}, "add a toxic to")
}

// WaitInjected implements Fault: toxiproxy lists the toxic, with its
// attributes, on every proxy of the links; toxiproxy applies a toxic to the
// connections already open as well as to new ones.
func (f *LinkToxicFault) WaitInjected(ctx context.Context) error {
	return f.pollStreams(ctx, "on", f.hasToxic)
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
	return f.eachStream(func(px *toxiclient.Proxy, stream string) error {
		err := px.RemoveToxic(f.toxicName(stream))
		var api *toxiclient.ApiError
		if errors.As(err, &api) && api.Status == http.StatusNotFound {
			return nil
		}
		return err
	}, "remove a toxic from")
}

// WaitRecovered implements Fault: no proxy of the links lists the toxic.
func (f *LinkToxicFault) WaitRecovered(ctx context.Context) error {
	return f.pollStreams(ctx, "gone from", func(px *toxiclient.Proxy, stream string) error {
		for _, t := range px.ActiveToxics {
			if t.Name == f.toxicName(stream) {
				return fmt.Errorf("proxy %s still has toxic %s", px.Name, t.Name)
			}
		}
		return nil
	})
}

// eachStream does do to the toxic of each stream on every proxy of the
// links (see eachProxy; verb says what it does, for its error); an error
// names the toxic.
func (f *LinkToxicFault) eachStream(do func(px *toxiclient.Proxy, stream string) error, verb string) error {
	return eachProxy(f.cluster, f.target.Links, func(px *toxiclient.Proxy) error {
		for _, stream := range f.streams() {
			if err := do(px, stream); err != nil {
				return fmt.Errorf("toxic %s: %w", f.toxicName(stream), err)
			}
		}
		return nil
	}, verb)
}

// pollStreams waits until check holds of the toxic of each stream on every
// proxy of the links; where says where the toxic is waited for ("on",
// "gone from").
func (f *LinkToxicFault) pollStreams(ctx context.Context, where string, check func(px *toxiclient.Proxy, stream string) error) error {
	return PollUntil(ctx, fmt.Sprintf("toxic %s %s every proxy of links %s", f.toxic.Kind, where, f.target), func(context.Context) error {
		return everyProxy(f.cluster, f.target.Links, func(px *toxiclient.Proxy) error {
			for _, stream := range f.streams() {
				if err := check(px, stream); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// Cleanup implements Fault.
func (f *LinkToxicFault) Cleanup(context.Context) error { return nil }
