package output

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"text/tabwriter"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/local/assets"
)

// VersionSchema names the document of kong version --json.
const VersionSchema = "kong.version/v1"

// toxiproxyModule is the toxiproxy library kong is built with: its server
// carries the links, its client sets the toxics.
const toxiproxyModule = "github.com/Shopify/toxiproxy/v2"

// Version is the document of kong version --json: kong's build and the
// versions of the real components its worlds run.
type Version struct {
	Schema string `json:"schema"`
	Kong   Build  `json:"kong"`
	// Components are what the local backend runs: Cassandra and ElasticMQ
	// as the default profile pins them (fetched with Maven), toxiproxy as
	// compiled into kong, memcached as installed (from apt).
	Components Components `json:"components"`
	// Images are the container backend's images (KONG_*_IMAGE override
	// them).
	Images Images `json:"images"`
}

// Build is kong's own build (runtime/debug.BuildInfo).
type Build struct {
	Module  string `json:"module"`
	Version string `json:"version"`
	// Commit is the VCS revision kong was built from ("" when the build
	// did not record it); Modified is set when the tree had changes.
	Commit   string `json:"commit"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

// Components are the versions of the local backend's components.
type Components struct {
	Cassandra string `json:"cassandra"`
	ElasticMQ string `json:"elasticmq"`
	Toxiproxy string `json:"toxiproxy"`
	// Memcached is the installed memcached's version, or "from apt" when
	// none is installed yet (kong setup installs Debian's).
	Memcached string `json:"memcached"`
}

// Images are the container backend's images (containers.Images).
type Images struct {
	Cassandra string `json:"cassandra"`
	Memcached string `json:"memcached"`
	SQS       string `json:"sqs"`
	Toxiproxy string `json:"toxiproxy"`
	Kong      string `json:"kong"`
}

// MemcachedFromApt stands for memcached's version when none is installed.
const MemcachedFromApt = "from apt"

// NewVersion is the document of kong built as info, whose worlds run spec
// (the default profile) with memcached (its version, "" when not
// installed) or the container images im.
func NewVersion(info *debug.BuildInfo, spec *topology.Spec, memcached string, im containers.Images) Version {
	v := Version{Schema: VersionSchema,
		Components: Components{Cassandra: spec.Cassandra.Version, ElasticMQ: spec.SQS.ElasticMQVersion, Memcached: memcached},
		Images:     Images{Cassandra: im.Cassandra, Memcached: im.Memcached, SQS: im.SQS, Toxiproxy: im.Toxiproxy, Kong: im.Kong}}
	if v.Components.Memcached == "" {
		v.Components.Memcached = MemcachedFromApt
	}
	if info == nil {
		return v
	}
	v.Kong = Build{Module: info.Main.Path, Version: info.Main.Version, Go: info.GoVersion}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Kong.Commit = s.Value
		case "vcs.modified":
			v.Kong.Modified = s.Value == "true"
		}
	}
	for _, d := range info.Deps {
		if d.Path == toxiproxyModule {
			v.Components.Toxiproxy = d.Version
			if d.Replace != nil {
				v.Components.Toxiproxy = d.Replace.Version
			}
		}
	}
	return v
}

// Current is the version of this kong: its build, the versions the
// default profile pins, the memcached installed here and the images of
// $KONG_*_IMAGE or the default ones.
func Current(ctx context.Context) (Version, error) {
	info, _ := debug.ReadBuildInfo()
	spec, err := topology.Profile("default")
	if err != nil {
		return Version{}, err
	}
	return NewVersion(info, spec, assets.MemcachedVersion(ctx), containers.ImagesFromEnv()), nil
}

// Write prints the version as kong version does.
func (v Version) Write(w io.Writer) error {
	commit := v.Kong.Commit
	switch {
	case commit == "":
		commit = "unknown"
	case v.Kong.Modified:
		commit += ", modified"
	}
	fmt.Fprintf(w, "kong %s (%s, commit %s, %s)\n", v.Kong.Version, v.Kong.Module, commit, v.Kong.Go)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	c, im := v.Components, v.Images
	fmt.Fprintln(tw, "\nCOMPONENT\tLOCAL BACKEND\tCONTAINER IMAGE")
	fmt.Fprintf(tw, "cassandra\t%s (Maven)\t%s\n", c.Cassandra, im.Cassandra)
	fmt.Fprintf(tw, "elasticmq\t%s (Maven)\t-\n", c.ElasticMQ)
	fmt.Fprintf(tw, "sqs\t-\t%s\n", im.SQS)
	fmt.Fprintf(tw, "toxiproxy\t%s (compiled in)\t%s\n", c.Toxiproxy, im.Toxiproxy)
	fmt.Fprintf(tw, "memcached\t%s\t%s\n", c.Memcached, im.Memcached)
	fmt.Fprintf(tw, "kong\t-\t%s\n", im.Kong)
	return tw.Flush()
}
