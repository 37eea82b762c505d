package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/internal/output"
)

// newVersion is `kong version`: kong's build and the versions of the
// components its worlds run (kong --version prints the same).
func newVersion() *cobra.Command {
	return jsonCommand(&cobra.Command{
		Use:   "version",
		Short: "Print kong's version and commit, and the versions of Cassandra, ElasticMQ, toxiproxy and memcached it runs",
		Args:  cobra.NoArgs,
	}, "the versions", func(cmd *cobra.Command, _ []string, asJSON bool) error {
		v, err := output.Current(cmd.Context())
		if err != nil {
			return err
		}
		if asJSON {
			return output.Encode(cmd.OutOrStdout(), v)
		}
		return v.Write(cmd.OutOrStdout())
	})
}

// versionFlag gives the root --version, which prints what kong version
// does.
func versionFlag(root *cobra.Command) {
	root.Version = "-" // cobra adds --version only when there is one; the template prints it
	cobra.AddTemplateFunc("kongVersion", func(cmd *cobra.Command) string {
		var b strings.Builder
		v, err := output.Current(cmd.Context())
		if err == nil {
			err = v.Write(&b)
		}
		if err != nil {
			return "kong version: " + err.Error() + "\n"
		}
		return b.String()
	})
	root.SetVersionTemplate("{{kongVersion .}}")
}

// registerJSONFlag adds --json to cmd: what is printed as one JSON
// document on stdout (see the output package for its schema).
func registerJSONFlag(cmd *cobra.Command, asJSON *bool, what string) {
	cmd.Flags().BoolVar(asJSON, "json", false, "print "+what+" as one JSON document on stdout (schema in its \"schema\" field)")
}

// jsonCommand gives cmd --json (see registerJSONFlag) and its RunE, run,
// which is told whether --json was given.
func jsonCommand(cmd *cobra.Command, what string, run func(cmd *cobra.Command, args []string, asJSON bool) error) *cobra.Command {
	var asJSON bool
	cmd.RunE = func(cmd *cobra.Command, args []string) error { return run(cmd, args, asJSON) }
	registerJSONFlag(cmd, &asJSON, what)
	return cmd
}
