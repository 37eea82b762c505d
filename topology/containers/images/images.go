// Package images builds the images a container world runs from package
// registries only (Debian's packages, Maven Central, the Go module proxy),
// for machines that reach no container registry, and chooses, for each
// role of a world, between the official image and kong's own.
//
// kong's images honour the official images' interfaces, so that the
// container backend has one code path for both:
//   - Cassandra takes MAX_HEAP_SIZE and JVM_OPTS (where the container
//     backend's properties name its own cassandra.yaml and
//     cassandra-rackdc.properties), keeps its data in /var/lib/cassandra,
//     and has cqlsh on PATH;
//   - the SQS endpoint (ElasticMQ) listens on LocalStack's port 4566 and runs
//     the scripts in /etc/localstack/init/ready.d once it answers;
//   - memcached runs the command it is given (memcached and its flags, as
//     the container backend gives it), and toxiproxy takes the official
//     image's flags.
package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/kongchaos/kong/topology"
)

// Roles of a world's images, in the order kong images list shows them.
const (
	RoleCassandra = "cassandra"
	RoleMemcached = "memcached"
	RoleSQS       = "sqs"
	RoleToxiproxy = "toxiproxy"
	RoleKong      = "kong"
)

// Roles lists every role.
var Roles = []string{RoleCassandra, RoleMemcached, RoleSQS, RoleToxiproxy, RoleKong}

// Versions of what kong's own images hold.
const (
	DebianSuite      = "bookworm"
	CassandraVersion = topology.DefaultCassandraVersion
	ElasticMQVersion = topology.DefaultElasticMQVersion
	ToxiproxyVersion = "2.12.0"
)

// Official are the images published on registries (the kong image has
// none: it is always built here, from the binary).
var Official = map[string]string{
	RoleCassandra: "cassandra:5.0",
	RoleMemcached: "memcached:1.6",
	RoleSQS:       "localstack/localstack:4.4",
	RoleToxiproxy: "ghcr.io/shopify/toxiproxy:" + ToxiproxyVersion,
	RoleKong:      "kongchaos/kong:dev",
}

// Base is the Debian image kong's images start from.
const Base = "kong-local/debian:" + DebianSuite

// Local are the images kong images build makes.
var Local = map[string]string{
	RoleCassandra: "kong-local/cassandra:" + CassandraVersion,
	RoleMemcached: "kong-local/memcached:" + DebianSuite,
	RoleSQS:       "kong-local/elasticmq:" + ElasticMQVersion,
	RoleToxiproxy: "kong-local/toxiproxy:" + ToxiproxyVersion,
	RoleKong:      "kongchaos/kong:dev",
}

// Env names the variable that overrides a role's image.
var Env = map[string]string{
	RoleCassandra: "KONG_CASSANDRA_IMAGE",
	RoleMemcached: "KONG_MEMCACHED_IMAGE",
	RoleSQS:       "KONG_SQS_IMAGE",
	RoleToxiproxy: "KONG_TOXIPROXY_IMAGE",
	RoleKong:      "KONG_IMAGE",
}

// Source says where a chosen image comes from.
type Source string

const (
	SourceEnv      Source = "environment"
	SourceOfficial Source = "official"
	SourceLocal    Source = "local"
)

// Choice is the image a world runs for one role, and why.
type Choice struct {
	Role    string
	Image   string
	Source  Source
	Present bool
	Why     string
}

// Engine is what choosing and building need of the Docker engine.
type Engine interface {
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
}

// Choose picks each role's image: the one its variable names; else the
// official image when the engine has it; else kong's own when built; else
// the official image, which the engine pulls at start (and which fails
// where no registry answers: then kong images build makes the local ones).
func Choose(ctx context.Context, e Engine) ([]Choice, error) {
	var out []Choice
	for _, role := range Roles {
		c, err := choose(ctx, e, role)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func choose(ctx context.Context, e Engine, role string) (Choice, error) {
	if v := os.Getenv(Env[role]); v != "" {
		ok, err := Present(ctx, e, v)
		return Choice{Role: role, Image: v, Source: SourceEnv, Present: ok, Why: Env[role] + " names it"}, err
	}
	official, local := Official[role], Local[role]
	if role == RoleKong {
		ok, err := Present(ctx, e, local)
		why := "built from the kong binary when a world comes up"
		if ok {
			why = "built from the kong binary; rebuilt when the binary changes"
		}
		return Choice{Role: role, Image: local, Source: SourceLocal, Present: ok, Why: why}, err
	}
	ok, err := Present(ctx, e, official)
	if err != nil {
		return Choice{}, err
	}
	if ok {
		return Choice{Role: role, Image: official, Source: SourceOfficial, Present: true, Why: "the engine has the official image"}, nil
	}
	ok, err = Present(ctx, e, local)
	if err != nil {
		return Choice{}, err
	}
	if ok {
		return Choice{Role: role, Image: local, Source: SourceLocal, Present: true,
			Why: "the engine has no " + official + "; kong images build made this one"}, nil
	}
	return Choice{Role: role, Image: official, Source: SourceOfficial,
		Why: "neither it nor " + local + " is in the engine: it is pulled at start (where no registry answers, run `kong images build`)"}, nil
}

// Present says whether the engine has an image.
func Present(ctx context.Context, e Engine, image string) (bool, error) {
	_, err := e.ImageInspect(ctx, image)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("ask the engine for image %s: %w", image, err)
	}
}

// Missing is the error for images that are neither in the engine nor
// pullable: it says which, and the command that makes kong's own.
func Missing(choices []Choice) error {
	var names []string
	for _, c := range choices {
		if !c.Present && c.Role != RoleKong {
			if c.Source == SourceEnv {
				names = append(names, c.Image+" (named by "+Env[c.Role]+")")
			} else {
				names = append(names, c.Image)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s; run `kong images build` to build kong's own from Debian's packages, Maven Central and the Go module proxy (no registry needed), or `docker pull` them where a registry answers",
		ErrMissing, strings.Join(names, ", "))
}

// ErrMissing means a world's images are not in the engine.
var ErrMissing = errors.New("images not in the engine")

// Puller pulls images.
type Puller interface {
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
}

// Pull pulls an image from its registry, reading the engine's progress to
// its end (a pull's failure comes as its last message).
func Pull(ctx context.Context, p Puller, image string) error {
	res, err := p.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("pull %s: %w", image, err)
	}
	defer res.Close()
	if err := readStream(res, io.Discard); err != nil {
		return fmt.Errorf("pull %s: %w", image, err)
	}
	return nil
}
