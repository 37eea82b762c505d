package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/topology/local"
)

func newSetup() *cobra.Command {
	var sf specFlags
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Fetch what the local backend needs: Cassandra and ElasticMQ jars (Maven), memcached (apt-get)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := sf.load()
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			a, err := local.EnsureAssets(cmd.Context(), spec.Cassandra.Version, spec.SQS.ElasticMQVersion, log)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "java       %s\n", a.Java)
			fmt.Fprintf(out, "cassandra  %s (%s)\n", a.CassandraLib, a.CassandraVers)
			fmt.Fprintf(out, "elasticmq  %s\n", a.ElasticMQLib)
			fmt.Fprintf(out, "memcached  %s\n", a.Memcached)
			return nil
		},
	}
	sf.register(cmd)
	return cmd
}
