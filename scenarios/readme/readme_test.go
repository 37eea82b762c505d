// Package readme keeps the README's table of broken worlds the one the
// registered scenarios declare (scenarios.Spec.Broken). It needs no world:
// `go test ./scenarios/readme` checks the table, and `go generate
// ./scenarios` (which runs it with -update) rewrites it.
package readme

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/scenarios"
)

var update = flag.Bool("update", false, "rewrite the README's table of broken worlds")

const (
	readme = "../../README.md"
	start  = "<!-- broken-worlds:start: generated from each scenario's Broken variants by go generate ./scenarios; do not edit -->"
	end    = "<!-- broken-worlds:end -->"
)

// table is the Markdown table of every registered broken world.
func table(specs []scenarios.Spec) string {
	var b strings.Builder
	b.WriteString("| scenario | broken world | checker | verdict | reason contains |\n| --- | --- | --- | --- | --- |\n")
	for _, s := range specs {
		for _, v := range s.Broken {
			checker := "`" + v.Checker + "`"
			if len(v.AlsoInvalid) > 0 {
				checker += " (" + strings.Join(quoted(v.AlsoInvalid), ", ") + " may be invalid too)"
			}
			fmt.Fprintf(&b, "| `%s` | `%s`: %s | %s | invalid | `%s` |\n", s.Name, v.Name, cell(v.Broken), checker, cell(v.Reason))
		}
	}
	return b.String()
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "`" + n + "`"
	}
	return out
}

// cell escapes what would end a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// TestREADMEBrokenWorlds fails when the README's table of broken worlds is
// not the one the registered variants make; -update rewrites it.
func TestREADMEBrokenWorlds(t *testing.T) {
	doc, err := os.ReadFile(readme)
	require.NoError(t, err)
	i, j := bytes.Index(doc, []byte(start)), bytes.Index(doc, []byte(end))
	require.True(t, i >= 0 && j > i, "README.md has no %q ... %q section", start, end)
	want := table(scenarios.All())
	got := string(doc[i+len(start)+1 : j])
	if *update {
		out := append(append([]byte{}, doc[:i+len(start)]...), '\n')
		out = append(append(out, want...), doc[j:]...)
		require.NoError(t, os.WriteFile(readme, out, 0o644))
		return
	}
	require.Equal(t, want, got, "the README's table of broken worlds is out of date: go generate ./scenarios")
}

// Every registered scenario declares at least one broken world.
func TestEveryScenarioHasABrokenWorld(t *testing.T) {
	for _, s := range scenarios.All() {
		require.NotEmpty(t, s.Broken, "scenario %s declares no broken world (Spec.Broken)", s.Name)
	}
}
