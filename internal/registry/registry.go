// Package registry is the table behind kong's catalogues (the checkers,
// the faults, the scenarios): each entry added from its file's init under
// a name of its own, found by name, and listed by name.
package registry

import (
	"slices"
	"sync"
)

// Of holds entries of type E by name; its zero value is empty and ready.
type Of[E any] struct {
	mu      sync.Mutex
	entries map[string]E
}

// Add adds e under name, unless name has an entry already: it says
// whether it added e (a second entry of a name is the caller's to refuse).
func (r *Of[E]) Add(name string, e E) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.entries[name]; dup {
		return false
	}
	if r.entries == nil {
		r.entries = map[string]E{}
	}
	r.entries[name] = e
	return true
}

// Get finds the entry of name.
func (r *Of[E]) Get(name string) (E, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[name]
	return e, ok
}

// Names lists the names of the entries, sorted.
func (r *Of[E]) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.names()
}

// All lists the entries in the order of their names.
func (r *Of[E]) All() []E {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]E, 0, len(r.entries))
	for _, name := range r.names() {
		out = append(out, r.entries[name])
	}
	return out
}

// names are the entries' names, sorted; r.mu is held.
func (r *Of[E]) names() []string {
	names := make([]string, 0, len(r.entries))
	for name := range r.entries {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
