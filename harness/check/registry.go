package check

import (
	"fmt"
	"slices"
	"strings"
	"sync"
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

var registry struct {
	sync.Mutex
	entries map[string]Entry
}

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
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.entries[e.Name]; dup {
		panic(fmt.Sprintf("check.Register(%q): registered twice", e.Name))
	}
	if registry.entries == nil {
		registry.entries = map[string]Entry{}
	}
	registry.entries[e.Name] = e
}

// Registered lists every registered checker, by name.
func Registered() []Entry {
	registry.Lock()
	defer registry.Unlock()
	out := make([]Entry, 0, len(registry.entries))
	for _, e := range registry.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}
