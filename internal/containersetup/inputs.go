// Package containersetup readies a machine for the container backend: it
// starts a Docker engine where none answers (Debian's docker.io), and it
// gathers what kong's container images are made of
// (topology/containers/images) from the local backend's caches, fetching
// what is missing: Cassandra's and ElasticMQ's jars from Maven Central,
// cqlsh from PyPI, debootstrap from Debian, the kong and toxiproxy
// executables built from the source tree.
package containersetup

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kongchaos/kong/topology/containers/images"
	"github.com/kongchaos/kong/topology/local/assets"
)

// DefaultMirror is the Debian mirror the base image comes from, unless
// KONG_DEBIAN_MIRROR names another.
const DefaultMirror = "http://deb.debian.org/debian"

// Inputs gathers the inputs of every image; progress lines go to out.
func Inputs(ctx context.Context, out io.Writer, log *slog.Logger) (images.Inputs, error) {
	var in images.Inputs
	cache, err := assets.CacheDir()
	if err != nil {
		return in, err
	}
	in.Cache = filepath.Join(cache, "images")
	if err := os.MkdirAll(in.Cache, 0o755); err != nil {
		return in, fmt.Errorf("create the images cache %s: %w", in.Cache, err)
	}
	in.Mirror = DefaultMirror
	if m := os.Getenv("KONG_DEBIAN_MIRROR"); m != "" {
		in.Mirror = m
	}
	if in.Debootstrap, err = assets.EnsureDebootstrap(ctx, out, log); err != nil {
		return in, err
	}
	a, err := assets.Jars(ctx, images.CassandraVersion, images.ElasticMQVersion, out, log)
	if err != nil {
		return in, err
	}
	in.CassandraLib, in.ElasticMQLib, in.JammAgent = a.CassandraLib, a.ElasticMQLib, a.JammAgent
	cqlsh, err := assets.EnsureCqlsh(ctx, out, log)
	if err != nil {
		return in, err
	}
	site, err := filepath.Glob(filepath.Join(filepath.Dir(filepath.Dir(cqlsh)), "lib", "python3.*", "site-packages"))
	if err != nil || len(site) != 1 {
		return in, fmt.Errorf("cqlsh at %s: no single site-packages folder beside it (found %v)", cqlsh, site)
	}
	in.CqlshSitePackages = site[0]
	wd, err := os.Getwd()
	if err != nil {
		return in, err
	}
	source := images.SourceTree(wd)
	bins := filepath.Join(in.Cache, "bin")
	if in.Kong, err = images.KongBinary(ctx, source, bins); err != nil {
		return in, err
	}
	if in.Toxiproxy, err = images.ToxiproxyBinary(ctx, source, bins); err != nil {
		return in, err
	}
	return in, nil
}
