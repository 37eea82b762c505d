package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// laterRun is the failed-run fixture as if run again a day later: it
// passed (every checker valid, the judged availability 99.95 %), its replication lag p99 grew to 250 ms and it converged in
// 0.75 s.
func laterRun(t *testing.T) *Report {
	t.Helper()
	r, _ := build(t, failedRun)
	day := 24 * time.Hour
	r.Start, r.End = r.Start.Add(day), r.End.Add(day)
	r.Run.Started, r.Run.Finished = r.Run.Started.Add(day), r.Run.Finished.Add(day)
	r.Status, r.Reason, r.Verdict = history.StatusPassed, "", history.VerdictValid
	var pass func([]history.Result)
	pass = func(rs []history.Result) {
		for i := range rs {
			rs[i].Valid = history.VerdictValid
			if rs[i].Checker == "availability" { // every pair at or above its SLO of 99.9 %
				rs[i].Figures[check.FigJudged] = 0.9995
			}
			pass(rs[i].Children)
		}
	}
	pass(r.Checkers)
	rl := *r.Replication
	rl.P99 = 250
	r.Replication = &rl
	r.Figures[KeyConvergence] = 0.75
	return r
}

// reportsFolder makes a reports folder: the failed run with its artifacts
// only (no report.json yet), the aborted run with every report written,
// the later run as a report.json alone, a folder whose report is garbage,
// and things that are not runs.
func reportsFolder(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "kong-reports")
	require.NoError(t, os.MkdirAll(out, 0o755))
	place := func(name, src string) string {
		dir := filepath.Join(out, name)
		require.NoError(t, os.Rename(copyRun(t, src), dir))
		return dir
	}
	place("split-brain-demo-20250314T090000Z", failedRun)
	aborted := place("chaos-kong-demo-20250314T100000Z", abortedRun)
	r, err := Build(aborted)
	require.NoError(t, err)
	require.NoError(t, WriteAll(aborted, r))

	later := filepath.Join(out, "split-brain-demo-20250315T090000Z")
	require.NoError(t, os.MkdirAll(later, 0o755))
	require.NoError(t, JSONWriter.Write(later, laterRun(t)))

	broken := filepath.Join(out, "broken-run")
	require.NoError(t, os.MkdirAll(broken, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(broken, JSONFile), []byte("{not json"), 0o644))

	require.NoError(t, os.MkdirAll(filepath.Join(out, "not-a-run"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(out, ".hidden"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "notes.txt"), []byte("x"), 0o644))
	return out
}

func TestLoadRuns(t *testing.T) {
	out := reportsFolder(t)
	runs, err := LoadRuns(out)
	require.NoError(t, err)
	var dirs []string
	for _, e := range runs {
		dirs = append(dirs, e.Dir)
	}
	assert.Equal(t, []string{"split-brain-demo-20250315T090000Z", "chaos-kong-demo-20250314T100000Z",
		"split-brain-demo-20250314T090000Z", "broken-run"}, dirs, "newest first; the unreadable run last")
	assert.Equal(t, history.StatusPassed, runs[0].Report.Status)
	assert.Equal(t, history.StatusFailed, runs[2].Report.Status, "built from its artifacts")
	assert.Nil(t, runs[3].Report)
	assert.ErrorContains(t, runs[3].Err, "has neither run.json nor history.jsonl")
	assert.ErrorContains(t, runs[3].Err, "broken-run/"+JSONFile+": invalid character")
	assert.NotContains(t, runs[3].Err.Error(), out, "paths are relative to the folder")

	_, err = LoadRuns(filepath.Join(out, "absent"))
	assert.Error(t, err)
}

// The index lists links without fetching anything: anchors are the only
// references allowed.
func indexRefs(page string) []string {
	anchors := regexp.MustCompile(`<a href="[^":]+">`)
	return externalRefs(anchors.ReplaceAllString(page, "<a>"))
}

func TestWriteIndex(t *testing.T) {
	out := reportsFolder(t)
	require.NoError(t, WriteIndex(out))
	md, err := os.ReadFile(filepath.Join(out, IndexMarkdownFile))
	require.NoError(t, err)
	page, err := os.ReadFile(filepath.Join(out, IndexHTMLFile))
	require.NoError(t, err)
	golden(t, "index.md", string(md))
	golden(t, "index.html", skeleton(string(page)))

	for _, want := range []string{
		"4 runs in kong-reports: 1 passed, 1 failed, 1 aborted, 1 unreadable.",
		"| [split-brain-demo-20250315T090000Z](split-brain-demo-20250315T090000Z/report.html) ([md](split-brain-demo-20250315T090000Z/report.md)) | split-brain-demo | 2025-03-15 09:00:00.000 UTC | PASSED | valid |",
		"| 78.125% | 250.0 ms | 0.750 s |",
	} {
		assert.Contains(t, string(md), want)
	}
	p := string(page)
	assert.Contains(t, p, `<a href="chaos-kong-demo-20250314T100000Z/report.html">chaos-kong-demo-20250314T100000Z</a>`)
	assert.Contains(t, p, `<td class="status">ABORTED</td>`)
	assert.Empty(t, indexRefs(p))
	assert.NotEmpty(t, indexRefs(p+`<img src="x.png">`))

	// Trends: one series per scenario, a point per run that measured it.
	got := charts(p)
	require.Len(t, got, 3)
	rep := got["trend-replication"]
	assert.Contains(t, rep, ">split-brain-demo<")
	assert.NotContains(t, rep, ">chaos-kong-demo<", "the aborted run measured no replication lag")
	// Scenarios in name order take the palette's colours: chaos-kong-demo
	// the first, split-brain-demo the second.
	assert.Contains(t, rep, "stroke:#D55E00")
	assert.NotContains(t, rep, "#0072B2")
	av := got["trend-availability"]
	for _, s := range []string{">split-brain-demo<", ">split-brain-demo (worst region)<", ">chaos-kong-demo<"} {
		assert.Contains(t, av, s)
	}
	assert.Contains(t, got["trend-convergence"], ">split-brain-demo<")

	// Writing it again gives the same files (runs are found, not appended).
	require.NoError(t, WriteIndex(out))
	again, err := os.ReadFile(filepath.Join(out, IndexHTMLFile))
	require.NoError(t, err)
	assert.Equal(t, page, again)
}

func TestTrendChartPoints(t *testing.T) {
	a, _ := build(t, failedRun)
	b := laterRun(t)
	runs := []RunEntry{{Dir: "b", Report: b}, {Dir: "a", Report: a}, {Dir: "x", Err: os.ErrNotExist}}
	charts, err := TrendCharts(runs)
	require.NoError(t, err)
	require.Len(t, charts, 3)
	for _, c := range charts {
		assert.NotEmpty(t, c.SVG, c.ID)
	}
	// An empty folder: the charts say there is nothing to show.
	charts, err = TrendCharts(nil)
	require.NoError(t, err)
	for _, c := range charts {
		assert.Empty(t, c.SVG)
		assert.Equal(t, "No run in this folder measured it.", c.Empty)
	}
	var buf bytes.Buffer
	require.NoError(t, EncodeIndexHTML(&buf, "empty", nil))
	assert.Contains(t, buf.String(), "No runs were found.")
}

func TestLoadOrBuild(t *testing.T) {
	dir := copyRun(t, failedRun)
	r, err := LoadOrBuild(dir)
	require.NoError(t, err, "no report.json: built")
	assert.Equal(t, "split-brain-demo", r.Run.Scenario)

	// A report.json wins over the artifacts.
	r.Run.Scenario = "from-report-json"
	require.NoError(t, JSONWriter.Write(dir, r))
	r, err = LoadOrBuild(dir)
	require.NoError(t, err)
	assert.Equal(t, "from-report-json", r.Run.Scenario)

	// An unreadable report.json: built again from the artifacts.
	require.NoError(t, os.WriteFile(filepath.Join(dir, JSONFile), []byte(`{"schema": 99}`), 0o644))
	r, err = LoadOrBuild(dir)
	require.NoError(t, err)
	assert.Equal(t, "split-brain-demo", r.Run.Scenario)

	_, err = LoadOrBuild(t.TempDir())
	assert.ErrorContains(t, err, "not a run's artifacts directory")
}

// request is one completed user request of a fixture run: its user's home
// region, the region the director sent it to, and how it ended.
type request struct {
	home, entry string
	fail, shed  bool
}

// fixtureRun writes a passed run of scenario into a folder of out: three
// phases of ten seconds (steady state, inject, observe), each with the
// requests traffic gives it, every 50 ms a hundred times, judged by a.
func fixtureRun(t *testing.T, out, scenario string, a *check.Availability, traffic func(phase string) []request) {
	t.Helper()
	start := time.Date(2025, 3, 16, 9, 0, 0, 0, time.UTC)
	dir := filepath.Join(out, scenario+"-20250316T090000Z")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	rec, err := history.NewRecorder(filepath.Join(dir, history.HistoryFile))
	require.NoError(t, err)
	seq := uint64(0)
	for i, phase := range []string{history.PhaseSteady, history.PhaseInject, history.PhaseObserve} {
		rec.Event(history.Event{Kind: history.PhaseStart, Time: start.Add(time.Duration(i) * 10 * time.Second), Name: phase})
		for j := range 100 {
			at := start.Add(time.Duration(i)*10*time.Second + time.Duration(j)*50*time.Millisecond)
			for _, q := range traffic(phase) {
				seq++
				inv := history.Op{Type: history.Invoke, Time: at, Process: 1, Seq: seq, Op: "read-profile",
					Home: q.home, Entry: q.entry, Phase: phase, Due: at}
				done := inv
				done.Type, done.Time, done.Region, done.Status, done.Latency = history.OK, at.Add(5*time.Millisecond), q.entry, 200, 5*time.Millisecond
				if q.fail || q.shed {
					done.Type, done.Region, done.Shed, done.Status = history.Fail, "", q.shed, 503
				}
				rec.Op(inv)
				rec.Op(done)
			}
		}
	}
	require.NoError(t, rec.Close())
	h, err := history.Load(filepath.Join(dir, history.HistoryFile))
	require.NoError(t, err)
	res := a.Check(history.NewIndex(h))
	require.Equal(t, history.VerdictValid, res.Valid, res.Reason)
	require.NoError(t, history.SaveRunInfo(dir, history.RunInfo{Scenario: scenario, Started: start,
		Finished: start.Add(30 * time.Second), Status: history.StatusPassed, Checkers: []history.Result{res}}))
}

// herdRun is a run like thundering-herd's: a surge on us-east-1 whose
// gateway sheds three of its four requests while every admitted one
// succeeds, judged by an availability checker that leaves shed requests
// out.
func herdRun(t *testing.T, out string) {
	fixtureRun(t, out, "thundering-herd", &check.Availability{SLO: 0.99, AllowShed: true, Degraded: "us-east-1"},
		func(phase string) []request {
			qs := []request{{home: "us-east-1", entry: "us-east-1"}, {home: "us-west-2", entry: "us-west-2"}}
			if phase != history.PhaseSteady {
				for range 3 {
					qs = append(qs, request{home: "us-east-1", entry: "us-east-1", shed: true})
				}
			}
			return qs
		})
}

// failoverRun is a run like real-life-failover's: us-east-1 degrades (its
// users' requests fail) until, in the observe phase, its users are sent to
// us-west-2 and served there; the inject phase is measured, not judged.
func failoverRun(t *testing.T, out string) {
	fixtureRun(t, out, "real-life-failover",
		&check.Availability{SLO: 0.99, PhaseSLO: map[string]float64{history.PhaseInject: 0}, Degraded: "us-east-1"},
		func(phase string) []request {
			switch phase {
			case history.PhaseInject:
				return []request{{home: "us-east-1", entry: "us-east-1", fail: true}, {home: "us-west-2", entry: "us-west-2"}}
			case history.PhaseObserve:
				return []request{{home: "us-east-1", entry: "us-west-2"}, {home: "us-west-2", entry: "us-west-2"}}
			}
			return []request{{home: "us-east-1", entry: "us-east-1"}, {home: "us-west-2", entry: "us-west-2"}}
		})
}

// indexOfOne is the report and the index.md of a reports folder holding
// the one run that write writes.
func indexOfOne(t *testing.T, write func(t *testing.T, out string)) (*Report, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "kong-reports")
	write(t, out)
	runs, err := LoadRuns(out)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.NoError(t, runs[0].Err)
	var md bytes.Buffer
	require.NoError(t, EncodeIndexMarkdown(&md, "kong-reports", runs))
	return runs[0].Report, md.String()
}

// A run that sheds most of a surge and serves every admitted request shows,
// beside PASSED, the availability its checker judged (of the admitted
// requests, against its SLO), the surged region's users and the shed share
// in their own columns, and the pooled figure (shed counted as failed) only
// after them, as not judged.
func TestIndexShowsTheJudgedAvailability(t *testing.T) {
	r, md := indexOfOne(t, herdRun)
	assert.Equal(t, history.StatusPassed, r.Status)
	judged := keyFigure(r, KeyAvailabilityJudged)
	require.NotNil(t, judged.Value)
	assert.Equal(t, 1.0, *judged.Value)
	assert.Equal(t, 0.99, *keyFigure(r, KeyAvailabilityJudgedSLO).Value)
	assert.Equal(t, 1.0, *keyFigure(r, KeyAvailabilityDegraded).Value, "the surged region's admitted requests")
	assert.InDelta(t, 600.0/1200, *keyFigure(r, KeyShedRate).Value, 1e-12)
	assert.InDelta(t, 400.0/1000, *keyFigure(r, KeyAvailabilityFault).Value, 1e-12, "pooled: shed counted as failed")

	assert.Contains(t, md, "| Verdict | Why | Availability judged (worst region × phase) | "+
		"Degraded region's users (worst judged phase) | Shed (of all requests) | "+
		"All requests during the fault (not judged) |")
	assert.Contains(t, md, "| PASSED | valid |   | 100.000% of admitted (SLO 99.000%) | 100.000% of admitted | 50.000% | 40.000% |")
}

// A failover whose degraded region failed until its users moved shows,
// beside PASSED, what the checker judged (every phase but the measured
// inject), and the moved users' availability in its own column; the pooled
// figure of the fault, inject included, only after them, as not judged.
func TestIndexShowsTheMovedUsers(t *testing.T) {
	r, md := indexOfOne(t, failoverRun)
	assert.Equal(t, 1.0, *keyFigure(r, KeyAvailabilityJudged).Value)
	assert.Equal(t, 1.0, *keyFigure(r, KeyAvailabilityDegraded).Value)
	assert.InDelta(t, 0.75, *keyFigure(r, KeyAvailabilityFault).Value, 1e-12, "pooled: the inject phase's failures count")
	assert.Contains(t, md, "| PASSED | valid |   | 100.000% (SLO 99.000%) | 100.000% | 0.000% | 75.000% |")
}
