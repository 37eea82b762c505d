package fault

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kongchaos/kong/internal/registry"
	"github.com/kongchaos/kong/topology"
)

// The catalogue names every kind of fault, with what it targets and the
// parameters it takes, so that a configuration or a seeded random schedule
// can draw one by name and build it (as toxiproxy's toxics and roachprod's
// failure registry do). Each fault's file registers its entries in init.

// Scope is a kind of target: what a fault's selector picks.
type Scope string

// Scopes, from the smallest to the whole world.
const (
	ScopeInstance Scope = "instance" // components by ID (Instance, RandomPick)
	ScopeZone     Scope = "zone"     // a zone's components (Zone)
	ScopeRegion   Scope = "region"   // a region (Region)
	ScopeLink     Scope = "link"     // cross-region links (Link, Between)
	ScopeWorld    Scope = "world"    // everything (All)
)

// Param is one parameter of a catalogue entry; its value is text, as a
// configuration or a flag gives it.
type Param struct {
	Name    string
	Default string // "" for a setting left as it is
	Help    string
}

// Entry is one kind of fault in the catalogue.
type Entry struct {
	// Name is the fault's Name, such as "kill-instance".
	Name string
	// Description says what it does, in one line.
	Description string
	// Targets are the scopes its selector may pick from.
	Targets []Scope
	Params  []Param
	// New builds the fault on t (what a selector resolved) with its
	// parameters, read through a.
	New func(c topology.Cluster, t Target, a *Args) (Fault, error)
}

var catalogue = &registry.Of[Entry]{}

// Register adds e to the catalogue. An entry without a name, a scope or
// New, or with a name already registered, is a programming error: Register
// panics.
func Register(e Entry) {
	if e.Name == "" || e.Description == "" || len(e.Targets) == 0 || e.New == nil {
		panic(fmt.Sprintf("fault.Register(%q): an entry needs a name, a description, targets and New", e.Name))
	}
	if !catalogue.Add(e.Name, e) {
		panic(fmt.Sprintf("fault.Register(%q): registered twice", e.Name))
	}
}

// Catalogue lists every registered fault, by name.
func Catalogue() []Entry { return catalogue.All() }

// Lookup finds a registered fault by name.
func Lookup(name string) (Entry, error) {
	e, ok := catalogue.Get(name)
	if !ok {
		return Entry{}, fmt.Errorf("no fault %q in the catalogue (it has %s)", name, strings.Join(catalogue.Names(), ", "))
	}
	return e, nil
}

// Build resolves sel in world c and builds the fault name on what it
// selected, with params (those not given take their defaults).
func Build(ctx context.Context, c topology.Cluster, name string, sel Selector, params map[string]string) (Fault, error) {
	e, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	t, err := sel.Select(ctx, c)
	if err != nil {
		return nil, err
	}
	return e.Build(c, t, params)
}

// Build builds the fault on t with params (those not given take their
// defaults); an unknown parameter or a value that does not parse is an
// error.
func (e Entry) Build(c topology.Cluster, t Target, params map[string]string) (Fault, error) {
	a := &Args{values: map[string]string{}}
	for _, p := range e.Params {
		a.values[p.Name] = p.Default
	}
	for k, v := range params {
		if _, ok := a.values[k]; !ok {
			return nil, fmt.Errorf("fault %s: unknown parameter %q (it takes %s)", e.Name, k, e.paramNames())
		}
		a.values[k] = v
	}
	f, err := e.New(c, t, a)
	if err = errors.Join(err, errors.Join(a.errs...)); err != nil {
		return nil, fmt.Errorf("fault %s: %w", e.Name, err)
	}
	return f, nil
}

func (e Entry) paramNames() string {
	if len(e.Params) == 0 {
		return "none"
	}
	names := make([]string, len(e.Params))
	for i, p := range e.Params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// OnTarget is the New of an entry that takes no parameters: build makes
// the fault from the world and the target.
func OnTarget[F Fault](build func(topology.Cluster, Target) F) func(topology.Cluster, Target, *Args) (Fault, error) {
	return func(c topology.Cluster, t Target, _ *Args) (Fault, error) { return build(c, t), nil }
}

// Args are the parameters an entry's New reads by name. Each getter parses
// one value; what does not parse is an error of Build.
type Args struct {
	values map[string]string
	errs   []error
}

func parseArg[T any](a *Args, name string, parse func(string) (T, error)) T {
	v, err := parse(a.values[name])
	if err != nil {
		a.errs = append(a.errs, fmt.Errorf("parameter %s=%q: %w", name, a.values[name], err))
	}
	return v
}

// String is the parameter's text.
func (a *Args) String(name string) string { return a.values[name] }

// Float parses a number.
func (a *Args) Float(name string) float64 {
	return parseArg(a, name, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

// Int parses an integer.
func (a *Args) Int(name string) int { return parseArg(a, name, strconv.Atoi) }

// Bool parses true or false.
func (a *Args) Bool(name string) bool { return parseArg(a, name, strconv.ParseBool) }

// Duration parses a Go duration, such as "1.5s".
func (a *Args) Duration(name string) time.Duration { return parseArg(a, name, time.ParseDuration) }

// Floats parses a comma-separated list of numbers.
func (a *Args) Floats(name string) []float64 {
	return parseArg(a, name, func(s string) ([]float64, error) {
		var out []float64
		for f := range strings.SplitSeq(s, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	})
}

// optional is nil for a parameter given as "" (left as it is), else a
// pointer to its value read by get.
func optional[T any](a *Args, name string, get func(string) T) *T {
	if a.values[name] == "" {
		return nil
	}
	return new(get(name))
}
