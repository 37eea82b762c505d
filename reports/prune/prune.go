// Package prune removes old runs from a kong reports folder and rewrites
// its index, so that it links to no removed run. It is the only part of the
// reports that deletes anything: a run is a folder directly inside the
// reports folder, not a symbolic link, that holds a run's own files
// (index.IsRun); nothing else is ever removed, and links are never
// followed.
package prune

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/reports/index"
)

// Options say which runs of a reports folder Folder removes. With both
// Keep and OlderThan, a run goes only when neither keeps it: it is not among
// the Keep newest and it ended more than OlderThan ago.
type Options struct {
	// Keep keeps the Keep newest runs (by start); 0 sets no such limit.
	Keep int
	// OlderThan removes the runs that ended more than OlderThan before Now;
	// 0 sets no such limit.
	OlderThan time.Duration
	// Now is the time ages are counted from (default: time.Now()).
	Now time.Time
	// DryRun finds the runs that would go and removes nothing.
	DryRun bool
}

// Run is a run Folder removed (or, in a dry run, would remove).
type Run struct {
	// Dir is the run's folder name inside the reports folder.
	Dir string
	// Started and Ended are when the run started and ended, as far as its
	// files say (Ended is its last write when run.json has no end).
	Started, Ended time.Time
}

// Result is what Folder did.
type Result struct {
	// Dir is the reports folder; DryRun says nothing was removed.
	Dir    string
	DryRun bool
	// Removed are the runs removed (or that would be, in a dry run), oldest
	// first.
	Removed []Run
	// Kept is how many runs stay.
	Kept int
}

// Folder removes old runs from the reports folder dir and rewrites its
// index (index.md, index.html) from the runs that stay. A run is a folder
// directly inside dir, not a symbolic link, that holds a regular
// report.json, run.json or history.jsonl. Folder refuses a folder that is
// not a kong reports folder: one that is itself a run, or that holds
// neither kong's index nor any run.
func Folder(dir string, o Options) (Result, error) {
	res := Result{Dir: dir, DryRun: o.DryRun}
	if o.Keep < 0 {
		return res, fmt.Errorf("prune %s: keep %d runs? give 1 or more", dir, o.Keep)
	}
	if o.OlderThan < 0 {
		return res, fmt.Errorf("prune %s: older than %s? give a positive age", dir, o.OlderThan)
	}
	if o.Keep == 0 && o.OlderThan == 0 {
		return res, fmt.Errorf("prune %s: say which runs go (keep the newest N, or remove those older than an age)", dir)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	runs, err := findRuns(dir)
	if err != nil {
		return res, err
	}
	// Newest first, as the index lists them.
	slices.SortStableFunc(runs, func(a, b Run) int {
		if c := b.Started.Compare(a.Started); c != 0 {
			return c
		}
		return cmp.Compare(b.Dir, a.Dir)
	})
	for i, r := range runs {
		keptByCount := o.Keep > 0 && i < o.Keep
		keptByAge := o.OlderThan > 0 && o.Now.Sub(r.Ended) <= o.OlderThan
		// A rule that was not given keeps nothing; a given one keeps its runs.
		if keptByCount || keptByAge {
			res.Kept++
			continue
		}
		res.Removed = append(res.Removed, r)
	}
	slices.Reverse(res.Removed)
	if o.DryRun || len(res.Removed) == 0 {
		return res, nil
	}
	var errs []error
	removed := res.Removed[:0]
	for _, r := range res.Removed {
		if err := removeRun(dir, r.Dir); err != nil {
			errs = append(errs, err)
			res.Kept++
			continue
		}
		removed = append(removed, r)
	}
	res.Removed = removed
	if err := index.Write(dir); err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// findRuns lists the runs of the reports folder dir with when they started
// and ended, after checking that dir is one.
func findRuns(dir string) ([]Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	if index.IsRun(dir) {
		return nil, fmt.Errorf("%s is a run's folder, not a reports folder: give the folder that holds the runs (such as kong-reports)", dir)
	}
	names, err := index.RunFolders(dir)
	if err != nil {
		return nil, err
	}
	var runs []Run
	for _, name := range names {
		started, ended := runTimes(filepath.Join(dir, name))
		runs = append(runs, Run{Dir: name, Started: started, Ended: ended})
	}
	if len(runs) == 0 && !index.Exists(dir) {
		return nil, fmt.Errorf("%s is not a kong reports folder: it holds neither %s nor %s nor any run's folder", dir, index.HTMLFile, index.MarkdownFile)
	}
	return runs, nil
}

// runTimes says when the run in dir started and ended: from run.json, else
// from report.json; a run without a recorded end (one in progress, or
// killed) ended at its last write, and one without a recorded start started
// at the time its folder's name ends with (scenario-20060102T150405Z).
func runTimes(dir string) (started, ended time.Time) {
	if ri, err := history.LoadRunInfo(dir); err == nil {
		started, ended = ri.Started, ri.Finished
	} else if r, err := reports.Load(dir); err == nil {
		started, ended = r.Start, r.End
	}
	if ended.IsZero() {
		ended = lastWrite(dir)
	}
	if started.IsZero() {
		base := filepath.Base(dir)
		if i := strings.LastIndexByte(base, '-'); i >= 0 {
			started, _ = time.Parse("20060102T150405Z", base[i+1:])
		}
	}
	if started.IsZero() {
		started = ended
	}
	return started, ended
}

// lastWrite is the newest modification time of dir and its entries.
func lastWrite(dir string) time.Time {
	var t time.Time
	if fi, err := os.Lstat(dir); err == nil {
		t = fi.ModTime()
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// removeRun removes the run folder name of dir, after checking again that
// it is still a run's folder and not a link.
func removeRun(dir, name string) error {
	sub := filepath.Join(dir, name)
	fi, err := os.Lstat(sub)
	if err != nil {
		return fmt.Errorf("remove %s: %w", sub, err)
	}
	if !fi.IsDir() || !index.IsRun(sub) {
		return fmt.Errorf("remove %s: no longer a run's folder, left alone", sub)
	}
	if err := os.RemoveAll(sub); err != nil {
		return fmt.Errorf("remove %s: %w", sub, err)
	}
	return nil
}

// Tell prunes dir as Folder does and writes to w what went (or would go):
// also after an error, when some runs went already.
func Tell(w io.Writer, dir string, o Options) error {
	res, err := Folder(dir, o)
	if err == nil || o.DryRun || len(res.Removed) > 0 {
		res.Write(w)
	}
	return err
}

// Write says which runs went (or would go, in a dry run) and how many stay.
func (r Result) Write(w io.Writer) {
	verb := "removed"
	if r.DryRun {
		verb = "would remove"
	}
	for _, run := range r.Removed {
		started := "unknown"
		if !run.Started.IsZero() {
			started = run.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		fmt.Fprintf(w, "%s %s (started %s)\n", verb, filepath.Join(r.Dir, run.Dir), started)
	}
	switch {
	case r.DryRun:
		fmt.Fprintf(w, "dry run: %d of %d runs would go, %d would stay; nothing was removed\n",
			len(r.Removed), len(r.Removed)+r.Kept, r.Kept)
	case len(r.Removed) > 0:
		fmt.Fprintf(w, "%d runs removed from %s, %d stay; index rewritten\n", len(r.Removed), r.Dir, r.Kept)
	default:
		fmt.Fprintf(w, "nothing to remove from %s: %d runs stay\n", r.Dir, r.Kept)
	}
}

// ParseAge reads an age, such as Options.OlderThan: a Go duration
// (72h, 90m) with days allowed in front (7d, 1d12h).
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("give an age such as 72h, 7d or 1d12h")
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("give an age such as 72h, 7d or 1d12h")
		}
		rest = d
	}
	age := days + rest
	if age <= 0 || rest < 0 {
		return 0, fmt.Errorf("give an age longer than zero, such as 72h or 7d")
	}
	return age, nil
}
