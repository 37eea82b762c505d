// Package compose writes a container world as a docker-compose.yml: the
// same containers, networks, addresses, labels and files as the container
// backend (topology/containers), for people who run worlds with docker
// compose instead of kong.
package compose

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/containers/images"
)

// Command is how the committed docker-compose.yml is made again.
const Command = "go run ./cmd/kong compose -o docker-compose.yml"

// WorldFile is the docker-compose.yml of world (named as kong names
// worlds) from spec, in the address slot the world's name picks, with the
// default images: what `kong compose` writes.
func WorldFile(spec *topology.Spec, world string) ([]byte, error) {
	l, err := containers.NewLayout(world, spec, topology.SlotFor(world))
	if err != nil {
		return nil, err
	}
	return File(l, containers.DefaultImages())
}

// File is the docker-compose.yml of a layout: the same containers,
// networks, addresses, labels and files as the container backend, plus a
// one-shot setup service (keyspaces, tables, every node UP) that the
// member services wait for. Files go inline as compose configs, so the
// file needs nothing beside it but the repository's Dockerfile. Published
// on 127.0.0.1: the director, each region's gateway and toxiproxy's API.
func File(l *containers.Layout, im containers.Images) ([]byte, error) {
	cs, err := containers.Containers(l, im)
	if err != nil {
		return nil, err
	}
	setup := containers.SetupContainer(l, im)
	// The setup step goes after the last Cassandra node.
	var all []containers.Container
	for i, c := range cs {
		all = append(all, c)
		if c.Kind == topology.KindCassandra && (i+1 == len(cs) || cs[i+1].Kind != topology.KindCassandra) {
			all = append(all, setup)
		}
	}
	p := l.Plan
	published := map[string]string{p.Toxiproxy.ID: fmt.Sprintf("127.0.0.1:%d:%d", p.Spec.Ports.Toxiproxy, p.Spec.Ports.Toxiproxy)}
	if p.Director.ID != "" {
		published[p.Director.ID] = fmt.Sprintf("127.0.0.1:%d:%d", p.Spec.Ports.Director, p.Spec.Ports.Director)
	}
	for r, g := range p.Gateways {
		published[g.ID] = fmt.Sprintf("127.0.0.1:%d:%d", p.Spec.Ports.Gateway+r, p.Spec.Ports.Gateway)
	}

	// Each image can be swapped at up time, as on the container backend:
	// ${KONG_CASSANDRA_IMAGE:-cassandra:5.0} (kong images env prints
	// kong's own).
	imageVar := map[string]string{}
	for role, image := range im.Roles() {
		imageVar[image] = images.Env[role]
	}
	services := newMap()
	configs := newMap()
	volumes := newMap()
	for _, c := range all {
		svc := newMap()
		svc.add("image", "${"+imageVar[c.Image]+":-"+c.Image+"}")
		if c.Image == im.Kong {
			svc.add("build", newMap().add("context", ".").add("dockerfile", "Dockerfile"))
		}
		svc.add("container_name", c.Name)
		if c.Cmd != nil {
			svc.add("command", flow(c.Cmd))
		}
		if len(c.Env) > 0 {
			env := newMap()
			for _, k := range slices.Sorted(maps.Keys(c.Env)) {
				env.add(k, escape(c.Env[k]))
			}
			if c.Kind == topology.KindSQS {
				env.add("LOCALSTACK_AUTH_TOKEN", "${LOCALSTACK_AUTH_TOKEN:-}")
			}
			svc.add("environment", env)
		}
		labels := newMap()
		for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
			labels.add(k, c.Labels[k])
		}
		svc.add("labels", labels)
		nets := newMap()
		for _, a := range c.Networks {
			nets.add(a.Network.Key, newMap().add("ipv4_address", a.IP.String()))
		}
		svc.add("networks", nets)
		if pub, ok := published[c.ID]; ok && c.ID != "" {
			svc.add("ports", []string{pub})
		}
		if len(c.Files) > 0 {
			var refs []*omap
			for _, f := range c.Files {
				name := c.Service + "-" + path.Base(f.Path)
				configs.add(name, newMap().add("content", literal(escape(string(f.Content)))))
				refs = append(refs, newMap().add("source", name).add("target", f.Path).add("mode", fileMode(f.Mode&0o555|0o444)))
			}
			svc.add("configs", refs)
		}
		if len(c.Volumes) > 0 {
			var vs []string
			for _, v := range c.Volumes {
				vs = append(vs, v.Name+":"+v.Target)
				vl := newMap()
				for _, k := range slices.Sorted(maps.Keys(v.Labels)) {
					vl.add(k, v.Labels[k])
				}
				volumes.add(v.Name, newMap().add("name", v.Name).add("labels", vl))
			}
			svc.add("volumes", vs)
		}
		if len(c.Tmpfs) > 0 {
			svc.add("tmpfs", slices.Sorted(maps.Keys(c.Tmpfs)))
		}
		if c.Health != "" {
			svc.add("healthcheck", newMap().
				add("test", flow([]string{"CMD-SHELL", c.Health})).
				add("interval", "5s").add("timeout", "10s").add("retries", 60).add("start_period", "30s"))
		}
		if deps := dependsOn(c, all); deps.len() > 0 {
			svc.add("depends_on", deps)
		}
		if c.Kind == containers.KindSetup {
			svc.add("restart", "no")
		}
		services.add(c.Service, svc)
	}

	networks := newMap()
	for _, n := range l.Networks() {
		labels := newMap().add(containers.LabelKind, containers.KindNetwork)
		if n.Region != "" {
			labels.add(containers.LabelRegion, n.Region)
		}
		labels.add(containers.LabelWorld, l.World)
		networks.add(n.Key, newMap().add("name", n.Name).add("labels", labels).
			add("ipam", newMap().add("config", []*omap{newMap().add("subnet", n.Subnet.String())})))
	}

	doc := newMap().add("name", l.World).add("services", services).add("networks", networks)
	if volumes.len() > 0 {
		doc.add("volumes", volumes)
	}
	doc.add("configs", configs)
	node, err := doc.MarshalYAML()
	if err != nil {
		return nil, err
	}
	root := node.(*yaml.Node)
	root.HeadComment = fmt.Sprintf(`Generated by kong from %s (world %s); do not edit.
Make it again with: %s
The same world as `+"`kong up --backend containers`"+`: docker compose up -d --build (Docker Compose
2.23 or later, for inline configs); it is ready when the director answers on 127.0.0.1:%d/healthz.
docker compose down -v removes every container, network and volume of it. The KONG_*_IMAGE variables
swap the images; where no registry answers: kong images build; eval "$(kong images env)"; docker compose
up -d (no --build: kong images build made kong's image too).`,
		p.Spec.Source(), l.World, Command, p.Spec.Ports.Director)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// dependsOn orders the compose services as the container backend starts
// them: link routers after toxiproxy, Cassandra after the routers (and the
// other nodes after the seeds are healthy), setup after every node is
// healthy, members after setup, their region's memcached and SQS,
// gateways after their members, the director after the gateways.
func dependsOn(c containers.Container, all []containers.Container) *omap {
	deps := newMap()
	need := func(o containers.Container, cond string) {
		if o.Service != c.Service {
			deps.add(o.Service, newMap().add("condition", cond))
		}
	}
	for _, o := range all {
		switch c.Kind {
		case containers.KindLinkRouter:
			if o.Kind == topology.KindToxiproxy {
				need(o, "service_started")
			}
		case topology.KindCassandra:
			switch {
			case o.Kind == topology.KindToxiproxy || o.Kind == containers.KindLinkRouter:
				need(o, "service_started")
			case !c.Seed && o.Kind == topology.KindCassandra && o.Seed:
				need(o, "service_healthy")
			}
		case containers.KindSetup:
			if o.Kind == topology.KindCassandra {
				need(o, "service_healthy")
			}
		case topology.KindMember:
			switch {
			case o.Kind == containers.KindSetup:
				need(o, "service_completed_successfully")
			case o.Kind == topology.KindToxiproxy:
				need(o, "service_started")
			case o.Kind == topology.KindMemcached && o.Labels[containers.LabelRegion] == c.Labels[containers.LabelRegion]:
				need(o, "service_started")
			case o.Kind == topology.KindSQS && o.Labels[containers.LabelRegion] == c.Labels[containers.LabelRegion]:
				need(o, "service_healthy")
			}
		case topology.KindGateway:
			if o.Kind == topology.KindToxiproxy || (o.Kind == topology.KindMember && o.Labels[containers.LabelRegion] == c.Labels[containers.LabelRegion]) {
				need(o, "service_started")
			}
		case topology.KindDirector:
			if o.Kind == topology.KindGateway {
				need(o, "service_started")
			}
		}
	}
	return deps
}

// escape keeps compose from interpolating a literal dollar sign.
func escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }

// omap is a YAML mapping that keeps its keys in insertion order.
type omap struct{ kvs []kv }

type kv struct {
	k string
	v any
}

func newMap() *omap { return &omap{} }

func (m *omap) add(k string, v any) *omap {
	m.kvs = append(m.kvs, kv{k, v})
	return m
}

func (m *omap) len() int { return len(m.kvs) }

// MarshalYAML implements yaml.Marshaler.
func (m *omap) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range m.kvs {
		v, err := toNode(e.v)
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: e.k}, v)
	}
	return n, nil
}

// toNode builds the node of a value itself where the value has its own
// node (yaml.Node.Encode would drop its comments).
func toNode(v any) (*yaml.Node, error) {
	switch x := v.(type) {
	case yaml.Marshaler:
		out, err := x.MarshalYAML()
		if err != nil {
			return nil, err
		}
		if n, ok := out.(*yaml.Node); ok {
			return n, nil
		}
		return toNode(out)
	case []*omap:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, item := range x {
			c, err := toNode(item)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	}
	n := &yaml.Node{}
	return n, n.Encode(v)
}

// flow is a list written on one line.
type flow []string

// MarshalYAML implements yaml.Marshaler.
func (f flow) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range f {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s, Style: quoteIfNeeded(s)})
	}
	return n, nil
}

// fileMode is a file mode, written in decimal (which every version of
// compose reads) with its octal form as a comment.
type fileMode int64

// MarshalYAML implements yaml.Marshaler.
func (m fileMode) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(m), 10), LineComment: fmt.Sprintf("0%o", int64(m))}, nil
}

// literal is a multi-line string written as a block.
type literal string

// MarshalYAML implements yaml.Marshaler.
func (l literal) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: string(l), Style: yaml.LiteralStyle}, nil
}

// quoteIfNeeded quotes a flow-list item that YAML would read as something
// other than the same string.
func quoteIfNeeded(s string) yaml.Style {
	var v any
	if err := yaml.Unmarshal([]byte("["+s+"]"), &v); err != nil {
		return yaml.DoubleQuotedStyle
	}
	if l, ok := v.([]any); !ok || len(l) != 1 || fmt.Sprint(l[0]) != s {
		return yaml.DoubleQuotedStyle
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return yaml.DoubleQuotedStyle
	}
	return 0
}
