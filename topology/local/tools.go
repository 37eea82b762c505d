package local

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/local/assets"
)

// Cassandra's own tools against a node of a local world, as ccm runs
// them: nodetool from the world's cached jars (with the module flags Java
// 17 needs) over the node's JMX port, and cqlsh (Cassandra 5.0's, from
// PyPI) over its native port. Their history files go into the world's
// folder (tools/.cassandra), which kong down removes, not the user's home.

// Nodetool returns the command that runs nodetool args against target of
// world: a Cassandra node's component ID, or a region (its first node).
func (b *Backend) Nodetool(ctx context.Context, world, target string, args []string) (*exec.Cmd, error) {
	r, node, err := b.toolTarget(ctx, world, target)
	if err != nil {
		return nil, err
	}
	return nodetool(ctx, b.Home, world, r.Spec(), node, args)
}

// nodetool returns the command that runs nodetool args against node of
// world (under home), with the jars of spec's Cassandra.
func nodetool(ctx context.Context, home, world string, spec *topology.Spec, node topology.Component, args []string) (*exec.Cmd, error) {
	jmx := node.Extra["jmx"]
	host, port, err := net.SplitHostPort(jmx)
	if err != nil {
		return nil, fmt.Errorf("node %s has no JMX address (%q)", node.ID, jmx)
	}
	a, err := assets.Ensure(ctx, spec.Cassandra.Version, spec.SQS.ElasticMQVersion, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	dir, err := toolHome(home, world)
	if err != nil {
		return nil, err
	}
	argv := []string{"-Xmx256m", "-XX:TieredStopAtLevel=1", "-Duser.home=" + dir, "-Dcassandra.logdir=" + dir}
	argv = append(argv, topology.CassandraJava17Flags...)
	argv = append(argv, "-cp", filepath.Join(a.CassandraLib, "*"), "org.apache.cassandra.tools.NodeTool", "-h", host, "-p", port)
	return exec.CommandContext(ctx, a.Java, append(argv, args...)...), nil
}

// Cqlsh returns the command that runs cqlsh args against target of world
// (a node's component ID, or a region: its first node), installing cqlsh
// first when it is missing (assets.EnsureCqlsh; progress on out).
func (b *Backend) Cqlsh(ctx context.Context, world, target string, args []string, out io.Writer) (*exec.Cmd, error) {
	_, node, err := b.toolTarget(ctx, world, target)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(node.Address)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.ID, err)
	}
	bin, err := assets.EnsureCqlsh(ctx, out, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	home, err := toolHome(b.Home, world)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{host, port}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	return cmd, nil
}

// toolTarget finds a Cassandra node of world by component ID or region.
func (b *Backend) toolTarget(ctx context.Context, world, target string) (*Remote, topology.Component, error) {
	r, err := Attach(b.Home, world)
	if err != nil {
		return nil, topology.Component{}, err
	}
	node, err := cassandraNode(ctx, r, target)
	if err != nil {
		return nil, topology.Component{}, err
	}
	return r, node, nil
}

// cassandraNode finds a Cassandra node of c by component ID, or a region's
// first node by the region's name.
func cassandraNode(ctx context.Context, c topology.Cluster, target string) (topology.Component, error) {
	comps, err := c.Components(ctx)
	if err != nil {
		return topology.Component{}, err
	}
	var ids []string
	for _, s := range comps {
		if s.Kind != topology.KindCassandra {
			continue
		}
		if s.ID == target || s.Region == target {
			return s.Component, nil
		}
		ids = append(ids, s.ID)
	}
	return topology.Component{}, fmt.Errorf("world %s has no Cassandra node or region %q: name a region (%s) or a node (%s)",
		c.Name(), target, strings.Join(c.Spec().RegionNames(), ", "), strings.Join(ids, ", "))
}

// toolHome is the world's folder for the tools' own files.
func toolHome(home, world string) (string, error) {
	dir := filepath.Join(StateDir(home, world), "tools")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}
