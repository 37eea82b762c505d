package images

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
)

// engineWith answers ImageInspect for the images it has.
type engineWith map[string]bool

func (e engineWith) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	if e[ref] {
		return client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: "sha256:" + ref}}, nil
	}
	return client.ImageInspectResult{}, cerrdefs.ErrNotFound.WithMessage("No such image: " + ref)
}

func chosen(t *testing.T, e Engine) map[string]Choice {
	t.Helper()
	cs, err := Choose(context.Background(), e)
	require.NoError(t, err)
	require.Len(t, cs, len(Roles))
	out := map[string]Choice{}
	for _, c := range cs {
		out[c.Role] = c
	}
	return out
}

func TestChoosePrefersOfficialThenLocal(t *testing.T) {
	for _, env := range Env {
		t.Setenv(env, "")
	}
	// Nothing in the engine: the official images, to be pulled.
	cs := chosen(t, engineWith{})
	require.Equal(t, "cassandra:5.0", cs[RoleCassandra].Image)
	require.Equal(t, SourceOfficial, cs[RoleCassandra].Source)
	require.False(t, cs[RoleCassandra].Present)
	require.Contains(t, cs[RoleCassandra].Why, "kong images build")

	// kong's own images built: they are used.
	local := engineWith{}
	for _, im := range Local {
		local[im] = true
	}
	cs = chosen(t, local)
	for _, role := range Roles {
		require.Equal(t, Local[role], cs[role].Image, role)
		require.Equal(t, SourceLocal, cs[role].Source, role)
		require.True(t, cs[role].Present, role)
	}

	// An official image the engine has wins over kong's own.
	local[Official[RoleMemcached]] = true
	cs = chosen(t, local)
	require.Equal(t, Official[RoleMemcached], cs[RoleMemcached].Image)
	require.Equal(t, SourceOfficial, cs[RoleMemcached].Source)
	require.Equal(t, Local[RoleCassandra], cs[RoleCassandra].Image)

	// A variable wins over both.
	t.Setenv(Env[RoleMemcached], "registry.example/memcached:9")
	cs = chosen(t, local)
	require.Equal(t, "registry.example/memcached:9", cs[RoleMemcached].Image)
	require.Equal(t, SourceEnv, cs[RoleMemcached].Source)
	require.False(t, cs[RoleMemcached].Present)
}

type brokenEngine struct{}

func (brokenEngine) ImageInspect(context.Context, string, ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	return client.ImageInspectResult{}, errors.New("connection reset")
}

func TestChooseSaysWhenTheEngineFails(t *testing.T) {
	_, err := Choose(context.Background(), brokenEngine{})
	require.ErrorContains(t, err, "connection reset")
}

func TestMissingNamesTheImagesAndTheCommand(t *testing.T) {
	require.NoError(t, Missing([]Choice{{Role: RoleCassandra, Image: "cassandra:5.0", Present: true}}))
	err := Missing([]Choice{
		{Role: RoleCassandra, Image: "cassandra:5.0"},
		{Role: RoleSQS, Image: "localstack/localstack:4.4", Present: true},
		{Role: RoleKong, Image: "kongchaos/kong:dev"},
	})
	require.ErrorIs(t, err, ErrMissing)
	require.ErrorContains(t, err, "cassandra:5.0; run `kong images build`")
	require.NotContains(t, err.Error(), "localstack")
	require.NotContains(t, err.Error(), "kongchaos", "the kong image is built, never missing")
	err = Missing([]Choice{{Role: RoleSQS, Image: "mine/sqs:1", Source: SourceEnv}})
	require.ErrorContains(t, err, "mine/sqs:1 (named by KONG_SQS_IMAGE)")
}

func TestReadStreamReturnsTheEnginesError(t *testing.T) {
	var out strings.Builder
	err := readStream(strings.NewReader(`{"stream":"Step 1/3 : FROM x\n"}
{"status":"Pulling"}
{"errorDetail":{"message":"apt failed"},"error":"apt failed"}
{"stream":"never read\n"}
`), &out)
	require.EqualError(t, err, "apt failed")
	require.Equal(t, "Step 1/3 : FROM x\nPulling\n", out.String())
	require.NoError(t, readStream(strings.NewReader(`{"stream":"ok\n"}`), &out))
}

func TestRecipeHashFollowsTheContents(t *testing.T) {
	dir := t.TempDir()
	jar := filepath.Join(dir, "a.jar")
	require.NoError(t, os.WriteFile(jar, []byte("one"), 0o644))
	r := recipe{dockerfile: "FROM x\n", copies: map[string]string{"lib": dir}}
	h1, err := r.hash("base1")
	require.NoError(t, err)
	again, err := r.hash("base1")
	require.NoError(t, err)
	require.Equal(t, h1, again)
	other, err := r.hash("base2")
	require.NoError(t, err)
	require.NotEqual(t, h1, other, "a new base image makes a new recipe")
	require.NoError(t, os.WriteFile(jar, []byte("two"), 0o644))
	h2, err := r.hash("base1")
	require.NoError(t, err)
	require.NotEqual(t, h1, h2, "a changed jar makes a new recipe")
	r.files = map[string]string{"x.sh": "#!/bin/sh\n"}
	h3, err := r.hash("base1")
	require.NoError(t, err)
	require.NotEqual(t, h2, h3)
}

func TestRecipesNeedTheirInputs(t *testing.T) {
	for _, role := range []string{RoleCassandra, RoleSQS, RoleToxiproxy, RoleKong} {
		_, err := recipeOf(role, Inputs{})
		require.Error(t, err, role)
		require.Contains(t, err.Error(), "the "+role+" image needs")
	}
	r, err := recipeOf(RoleMemcached, Inputs{})
	require.NoError(t, err)
	require.Contains(t, r.dockerfile, "FROM "+Base)
	_, err = recipeOf("mysql", Inputs{})
	require.ErrorContains(t, err, `no image recipe for role "mysql"`)
}

// The images' scripts are valid sh, and the Cassandra one starts it with
// the flags both backends share.
func TestScriptsAreValidShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	r, err := recipeOf(RoleCassandra, Inputs{CassandraLib: "lib", JammAgent: "lib/jamm-0.4.0.jar", CqlshSitePackages: "site"})
	require.NoError(t, err)
	scripts := map[string]string{"elasticmq.sh": elasticMQScript}
	for name, body := range r.files {
		if strings.HasSuffix(name, ".sh") {
			scripts[name] = body
		}
	}
	require.Len(t, scripts, 4)
	for name, body := range scripts {
		out, err := exec.Command(sh, "-n", "-c", body).CombinedOutput()
		require.NoError(t, err, "%s: %s", name, out)
	}
	cass := r.files["cassandra.sh"]
	require.Contains(t, cass, "-javaagent:\"$lib/jamm-0.4.0.jar\"")
	require.Contains(t, cass, "--add-opens java.base/sun.nio.ch=ALL-UNNAMED")
	require.Contains(t, cass, "-XX:+UseG1GC")
	require.Less(t, strings.Index(cass, "-XX:+UseG1GC"), strings.Index(cass, "${JVM_OPTS:-}"), "JVM_OPTS comes last, so that it overrides")
}

func TestStaticTellsDynamicExecutables(t *testing.T) {
	sh, err := exec.LookPath("sh")
	require.NoError(t, err)
	sh, err = filepath.EvalSymlinks(sh)
	require.NoError(t, err)
	require.ErrorContains(t, static(sh), "linked dynamically")
	notELF := filepath.Join(t.TempDir(), "kong")
	require.NoError(t, os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755))
	require.ErrorContains(t, static(notELF), "not an executable")
}
