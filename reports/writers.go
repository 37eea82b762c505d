package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kongchaos/kong/harness/history"
)

// Names of the report files written into a run's folder, beside the files
// the run wrote (history.HistoryFile, history.RunInfoFile, ...).
const (
	JSONFile     = "report.json"
	MarkdownFile = "report.md"
	JUnitFile    = "junit.xml"
)

// Writer renders a report in one format into one file of the run's
// directory.
type Writer struct {
	// Name names the format ("json", "markdown", "junit", "html").
	Name string
	// File is the file's name in the run's directory.
	File string
	// Encode renders the report.
	Encode func(w io.Writer, r *Report) error
}

// Write renders the report into dir/File, atomically (a reader never sees
// half a file).
func (wr Writer) Write(dir string, r *Report) error {
	var buf bytes.Buffer
	if err := wr.Encode(&buf, r); err != nil {
		return fmt.Errorf("%s report: %w", wr.Name, err)
	}
	return history.WriteFileAtomic(filepath.Join(dir, wr.File), buf.Bytes())
}

// Writers are the formats WriteAll writes, in order. A new format is one
// more entry, appended in this list or from the new format's file, as the
// HTML report does:
//
//	func init() { Writers = append(Writers, HTMLWriter) }
var Writers = []Writer{JSONWriter, MarkdownWriter, JUnitWriter}

// The writers of the built-in formats.
var (
	JSONWriter     = Writer{Name: "json", File: JSONFile, Encode: EncodeJSON}
	MarkdownWriter = Writer{Name: "markdown", File: MarkdownFile, Encode: EncodeMarkdown}
	JUnitWriter    = Writer{Name: "junit", File: JUnitFile, Encode: EncodeJUnit}
)

// WriteAll writes every format in Writers into dir. A format that fails
// does not stop the others; the errors are joined.
func WriteAll(dir string, r *Report) error {
	var errs []error
	for _, wr := range Writers {
		if err := wr.Write(dir, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EncodeJSON renders the report model as JSON, indented by two spaces.
func EncodeJSON(w io.Writer, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Load reads dir/report.json back. It refuses a report of a newer schema
// than this package knows.
func Load(dir string) (*Report, error) {
	path := filepath.Join(dir, JSONFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Schema < 1 || r.Schema > SchemaVersion {
		return nil, fmt.Errorf("%s: report schema %d; this kong reads schema 1 to %d", path, r.Schema, SchemaVersion)
	}
	return &r, nil
}

// Rebuild builds a run's report from the files in dir and writes every
// format there; it returns the files it wrote.
func Rebuild(dir string) ([]string, error) {
	r, err := Build(dir)
	if err != nil {
		return nil, err
	}
	files := make([]string, 0, len(Writers))
	for _, w := range Writers {
		files = append(files, w.File)
	}
	return files, WriteAll(dir, r)
}

// LoadOrBuild reads a run's report.json, or builds the report from its
// artifacts when report.json is missing or cannot be read (a run killed
// before its report was written, or one written by a newer kong).
func LoadOrBuild(dir string) (*Report, error) {
	r, lerr := Load(dir)
	if lerr == nil {
		return r, nil
	}
	r, err := Build(dir)
	if err != nil {
		if errors.Is(lerr, fs.ErrNotExist) {
			return nil, err
		}
		return nil, errors.Join(lerr, err)
	}
	return r, nil
}
