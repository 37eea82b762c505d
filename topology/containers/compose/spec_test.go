package compose

import (
	"context"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/containers/images"
	"github.com/stretchr/testify/require"
)

// The compose file loads with compose-go, the loader of docker compose
// itself: the Compose specification's schema, interpolation, and its
// consistency checks (every network, config, volume and dependency a
// service names exists). The loaded project is the same world.
func TestComposeFileLoadsAsDockerComposeReadsIt(t *testing.T) {
	for _, name := range []string{"small", "default", "global"} {
		t.Run(name, func(t *testing.T) {
			l := layout(t, name)
			data, err := File(l, containers.DefaultImages())
			require.NoError(t, err)
			project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
				WorkingDir:  t.TempDir(),
				ConfigFiles: []types.ConfigFile{{Filename: "docker-compose.yml", Content: data}},
				Environment: types.Mapping{},
			}, func(o *loader.Options) { o.SetProjectName("kong", true) })
			require.NoError(t, err)

			cs := containersOf(t, l)
			require.Len(t, project.Services, len(cs)+1)
			for _, c := range cs {
				s, ok := project.Services[c.Service]
				require.True(t, ok, c.Service)
				require.Equal(t, c.Name, s.ContainerName)
				require.Equal(t, c.Image, s.Image, "with no variable set, the default image")
				for _, a := range c.Networks {
					n, ok := s.Networks[a.Network.Key]
					require.True(t, ok, "%s not on %s", c.Service, a.Network.Key)
					require.Equal(t, a.IP.String(), n.Ipv4Address)
				}
				for i, f := range c.Files {
					ref := s.Configs[i]
					require.Equal(t, f.Path, ref.Target)
					require.Equal(t, types.FileMode(f.Mode&0o555|0o444), *ref.Mode)
					// Interpolation gives back the file's exact content.
					require.Equal(t, string(f.Content), project.Configs[ref.Source].Content, "%s %s", c.Service, f.Path)
				}
				for _, v := range c.Volumes {
					require.Equal(t, v.Name, project.Volumes[v.Name].Name)
				}
				if c.Health != "" {
					require.Equal(t, types.HealthCheckTest{"CMD-SHELL", c.Health}, s.HealthCheck.Test)
				}
			}
			for _, n := range l.Networks() {
				require.Equal(t, n.Name, project.Networks[n.Key].Name)
				require.Equal(t, n.Subnet.String(), project.Networks[n.Key].Ipam.Config[0].Subnet)
			}
			require.Equal(t, "service_completed_successfully", project.Services["us-east-1-member-a"].DependsOn["setup"].Condition)

			// The images' variables swap them, as on the container backend.
			env := types.Mapping{}
			for _, role := range images.Roles {
				env[images.Env[role]] = images.Local[role] + "-x"
			}
			swapped, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
				WorkingDir:  t.TempDir(),
				ConfigFiles: []types.ConfigFile{{Filename: "docker-compose.yml", Content: data}},
				Environment: env,
			}, func(o *loader.Options) { o.SetProjectName("kong", true) })
			require.NoError(t, err)
			im := containers.DefaultImages()
			want := map[string]string{im.Cassandra: images.Local[images.RoleCassandra], im.Memcached: images.Local[images.RoleMemcached],
				im.SQS: images.Local[images.RoleSQS], im.Toxiproxy: images.Local[images.RoleToxiproxy], im.Kong: images.Local[images.RoleKong]}
			for _, c := range cs {
				require.Equal(t, want[c.Image]+"-x", swapped.Services[c.Service].Image, c.Service)
			}
			require.True(t, strings.HasPrefix(project.Services["setup"].Command[0], "serve"))
		})
	}
}
