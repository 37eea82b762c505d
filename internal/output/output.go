// Package output holds the JSON documents kong's commands print with
// --json: one Go type per document, built from the types the commands
// already print as text (the scenario registry, the fault catalogue, the
// reports and their diff, the world's status, run.json). Every document
// names its schema and version in its "schema" field ("kong.list/v1"); a
// version changes when a field changes meaning or disappears, not when one
// is added. Field names are snake_case, lists are never null, and a figure
// that was not measured is null.
package output

import (
	"encoding/json"
	"io"
)

// Encode writes doc as indented JSON followed by a newline.
func Encode(w io.Writer, doc any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// orEmpty is s, or an empty list for nil (a list is never null).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
