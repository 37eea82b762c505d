package check

import (
	"fmt"
	"strings"

	"github.com/kongchaos/kong/internal/registry"
)

// The registry lists every checker with what it judges and how to build it
// with its defaults. Each checker's file registers it from init, so adding a
// checker is that file (and its test file); the tests run every registered
// checker.

// Entry is one checker in the registry.
type Entry struct {
	// Name is the checker's Name, as run.json and the reports record it;
	// Register fills it in from the checker New builds.
	Name string
	// Description says what the checker judges, in one line.
	Description string
	// New builds the checker with its defaults.
	New func() Checker
}

var registered = &registry.Of[Entry]{}

// Register adds a checker to the registry under the name its checker gives
// itself. An entry without a description or New, whose checker has no name,
// or whose name is already registered is a programming error: Register
// panics.
func Register(e Entry) {
	if e.Description == "" || e.New == nil {
		panic(fmt.Sprintf("check.Register(%q): an entry needs a description and New", e.Description))
	}
	e.Name = e.New().Name()
	if e.Name == "" || strings.ContainsAny(e.Name, " \t") {
		panic(fmt.Sprintf("check.Register: checker name %q: use lower-case words joined by dashes", e.Name))
	}
	if !registered.Add(e.Name, e) {
		panic(fmt.Sprintf("check.Register(%q): registered twice", e.Name))
	}
}

// Registered lists every registered checker, by name.
func Registered() []Entry { return registered.All() }
