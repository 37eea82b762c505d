// Package readme keeps the README's table of broken worlds the one the
// registered scenarios declare (scenarios.Spec.Broken), with what each
// showed when the Go tests last recorded it (scenarios.CaughtFile). It
// needs no world: `go test ./scenarios/readme` checks the table and the
// records, and `go generate ./scenarios` (which runs it with -update)
// rewrites the table.
package readme

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/scenarios"
)

var update = flag.Bool("update", false, "rewrite the README's table of broken worlds")

const (
	readme = "../../README.md"
	caught = "../" + scenarios.CaughtFile
	start  = "<!-- broken-worlds:start: generated from each scenario's Broken variants and their recorded runs by go generate ./scenarios; do not edit -->"
	end    = "<!-- broken-worlds:end -->"
	// maxReason is how much of a recorded reason a cell shows.
	maxReason = 300
)

// table is the Markdown table of every registered broken world and what
// its recorded run showed; it fails on a broken world with no record or a
// record that does not show what the broken world claims, and on a record
// of a broken world no scenario declares.
func table(specs []scenarios.Spec, records []scenarios.Caught) (string, error) {
	byName := map[string]scenarios.Caught{}
	for _, c := range records {
		byName[c.Scenario+"/"+c.Variant] = c
	}
	var b strings.Builder
	var errs []error
	b.WriteString("| scenario | broken world | must be invalid | healthy run | broken run | reason, as recorded |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, s := range specs {
		for _, v := range s.Broken {
			name := s.Name + "/" + v.Name
			c, ok := byName[name]
			delete(byName, name)
			if !ok {
				test := "TestScenarios"
				if s.Profile == "global" {
					test = "TestGlobalScenarios"
				}
				errs = append(errs, fmt.Errorf("broken world %s has no recorded run: KONG_RECORD_BROKEN=1 go test -run '%s/%s/%s$' ./scenarios",
					name, test, s.Name, v.Name))
				continue
			}
			if err := v.Shows(c); err != nil {
				errs = append(errs, fmt.Errorf("the recorded run of %s does not show it: %w", name, err))
			}
			checker := "`" + v.Checker + "` for `" + cell(v.Reason) + "`"
			if len(v.AlsoInvalid) > 0 {
				checker += " (" + strings.Join(quoted(v.AlsoInvalid), ", ") + " may be invalid too)"
			}
			verdict := fmt.Sprintf("%s (seed %d, %s)", c.Verdict, c.Seed, c.Date)
			if len(c.AlsoInvalid) > 0 {
				verdict += "; also invalid: " + strings.Join(quoted(c.AlsoInvalid), ", ")
			}
			fmt.Fprintf(&b, "| `%s` | `%s`: %s | %s | %s | %s | %s |\n", s.Name, v.Name, cell(v.Broken), checker, c.Healthy, verdict, cell(clip(c.Reason)))
		}
	}
	for name := range byName {
		errs = append(errs, fmt.Errorf("%s records broken world %s, which no scenario declares", scenarios.CaughtFile, name))
	}
	return b.String(), errors.Join(errs...)
}

// clip shortens a reason to maxReason bytes, at a rune's start.
func clip(s string) string {
	if len(s) <= maxReason {
		return s
	}
	i := maxReason
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + " …"
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
	records, err := scenarios.ReadCaught(caught)
	require.NoError(t, err)
	want, err := table(scenarios.All(), records)
	require.NoError(t, err)
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

// A record shows its broken world only when the checker was valid in the
// healthy run and invalid in the broken one for the declared reason, with
// no other checker invalid beyond those the broken world allows; a record
// that does not, or a broken world without one, fails the table.
func TestTableRefusesRecordsThatDoNotShowTheirBrokenWorld(t *testing.T) {
	v := scenarios.Variant{Name: "off", Broken: "it is off", Checker: "lost-writes", Reason: "lost", AlsoInvalid: []string{"availability"}}
	specs := []scenarios.Spec{{Name: "demo", Broken: []scenarios.Variant{v}}}
	good := scenarios.Caught{Scenario: "demo", Variant: "off", Checker: "lost-writes", Healthy: history.VerdictValid,
		Verdict: history.VerdictInvalid, Reason: "3 writes lost", AlsoInvalid: []string{"availability"}, Seed: 7, Date: "2026-12-04"}
	tab, err := table(specs, []scenarios.Caught{good})
	require.NoError(t, err)
	require.Contains(t, tab, "| `demo` | `off`: it is off | `lost-writes` for `lost` (`availability` may be invalid too) | valid | invalid (seed 7, 2026-12-04); also invalid: `availability` | 3 writes lost |")

	bad := map[string]func(c *scenarios.Caught){
		"was \"unknown\" in the healthy run": func(c *scenarios.Caught) { c.Healthy = history.VerdictUnknown },
		"not invalid for":                    func(c *scenarios.Caught) { c.Verdict = history.VerdictUnknown },
		"for \"3 writes late\"":              func(c *scenarios.Caught) { c.Reason = "3 writes late" },
		"stale-reads was invalid":            func(c *scenarios.Caught) { c.AlsoInvalid = append(c.AlsoInvalid, "stale-reads") },
	}
	for want, change := range bad {
		c := good
		change(&c)
		_, err := table(specs, []scenarios.Caught{c})
		require.ErrorContains(t, err, want)
	}
	_, err = table(specs, nil)
	require.ErrorContains(t, err, "has no recorded run")
	other := good
	other.Variant = "gone"
	_, err = table(specs, []scenarios.Caught{good, other})
	require.ErrorContains(t, err, "which no scenario declares")
}

// RecordCaught keeps one record per broken world, the newest, in order.
func TestRecordCaughtReplacesTheRecordOfTheSameBrokenWorld(t *testing.T) {
	path := t.TempDir() + "/caught.json"
	got, err := scenarios.ReadCaught(path)
	require.NoError(t, err)
	require.Empty(t, got)
	for _, c := range []scenarios.Caught{
		{Scenario: "b", Variant: "x", Reason: "first"},
		{Scenario: "a", Variant: "y", Reason: "other"},
		{Scenario: "b", Variant: "x", Reason: "second"},
	} {
		require.NoError(t, scenarios.RecordCaught(path, c))
	}
	got, err = scenarios.ReadCaught(path)
	require.NoError(t, err)
	require.Equal(t, []scenarios.Caught{{Scenario: "a", Variant: "y", Reason: "other"}, {Scenario: "b", Variant: "x", Reason: "second"}}, got)
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o644))
	_, err = scenarios.ReadCaught(path)
	require.ErrorContains(t, err, path)
}
