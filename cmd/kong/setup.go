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
		Short: "Fetch what the local backend and the tests need: Cassandra and ElasticMQ jars (Maven), memcached and chromium (apt-get)",
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
			// The report tests draw the HTML reports in headless Chromium.
			chromium, err := local.EnsureChromium(cmd.Context(), log)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "chromium   %s\n", chromium)
			return nil
		},
	}
	sf.register(cmd)
	return cmd
}
