package local

// ClassArchiveFlag is the flag that maps w's Cassandra class-data archive,
// or "" when it is not built.
func ClassArchiveFlag(w *World) string { return w.assets.ClassArchiveFlag() }

// CommandLine is the command line that starts (and restarts) component id.
func CommandLine(w *World, id string) []string {
	p := w.procs[id]
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.argv
}
