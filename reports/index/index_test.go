package index

import (
	"bytes"
	"flag"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports"
	"github.com/kongchaos/kong/reports/chart"
	"github.com/kongchaos/kong/reports/internal/fixture"
	"github.com/kongchaos/kong/reports/internal/pagetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	pagetest.Golden(t, filepath.Join("testdata", "golden", name), got, *update, "go test ./reports/index -update")
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
		require.NoError(t, os.Rename(fixture.Copy(t, src), dir))
		return dir
	}
	place("split-brain-demo-20250314T090000Z", fixture.FailedRun)
	aborted := place("chaos-kong-demo-20250314T100000Z", fixture.AbortedRun)
	r, err := reports.Build(aborted)
	require.NoError(t, err)
	require.NoError(t, reports.WriteAll(aborted, r))

	later := filepath.Join(out, "split-brain-demo-20250315T090000Z")
	require.NoError(t, os.MkdirAll(later, 0o755))
	require.NoError(t, reports.JSONWriter.Write(later, fixture.Later(t)))

	broken := filepath.Join(out, "broken-run")
	require.NoError(t, os.MkdirAll(broken, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(broken, reports.JSONFile), []byte("{not json"), 0o644))

	require.NoError(t, os.MkdirAll(filepath.Join(out, "not-a-run"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(out, ".hidden"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "notes.txt"), []byte("x"), 0o644))
	return out
}

func TestLoad(t *testing.T) {
	out := reportsFolder(t)
	runs, err := Load(out)
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
	assert.ErrorContains(t, runs[3].Err, "broken-run/"+reports.JSONFile+": invalid character")
	assert.NotContains(t, runs[3].Err.Error(), out, "paths are relative to the folder")

	_, err = Load(filepath.Join(out, "absent"))
	assert.Error(t, err)
}

// The index lists links without fetching anything: anchors are the only
// references allowed.
func indexRefs(page string) []string {
	anchors := regexp.MustCompile(`<a href="[^":]+">`)
	return pagetest.ExternalRefs(anchors.ReplaceAllString(page, "<a>"))
}

func TestWrite(t *testing.T) {
	out := reportsFolder(t)
	require.NoError(t, Write(out))
	md, err := os.ReadFile(filepath.Join(out, MarkdownFile))
	require.NoError(t, err)
	page, err := os.ReadFile(filepath.Join(out, HTMLFile))
	require.NoError(t, err)
	golden(t, "index.md", string(md))
	golden(t, "index.html", pagetest.Skeleton(string(page)))

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
	got := pagetest.Charts(p)
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
	require.NoError(t, Write(out))
	again, err := os.ReadFile(filepath.Join(out, HTMLFile))
	require.NoError(t, err)
	assert.Equal(t, page, again)
}

func TestTrendChartPoints(t *testing.T) {
	a, _ := fixture.Build(t, fixture.FailedRun)
	b := fixture.Later(t)
	runs := []Run{{Dir: "b", Report: b}, {Dir: "a", Report: a}, {Dir: "x", Err: os.ErrNotExist}}
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
	require.NoError(t, EncodeHTML(&buf, "empty", nil))
	assert.Contains(t, buf.String(), "No runs were found.")
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
func indexOfOne(t *testing.T, write func(t *testing.T, out string)) (*reports.Report, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "kong-reports")
	write(t, out)
	runs, err := Load(out)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.NoError(t, runs[0].Err)
	var md bytes.Buffer
	require.NoError(t, EncodeMarkdown(&md, "kong-reports", runs))
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
	judged := keyFigure(r, reports.KeyAvailabilityJudged)
	require.NotNil(t, judged.Value)
	assert.Equal(t, 1.0, *judged.Value)
	assert.Equal(t, 0.99, *keyFigure(r, reports.KeyAvailabilityJudgedSLO).Value)
	assert.Equal(t, 1.0, *keyFigure(r, reports.KeyAvailabilityDegraded).Value, "the surged region's admitted requests")
	assert.InDelta(t, 600.0/1200, *keyFigure(r, reports.KeyShedRate).Value, 1e-12)
	assert.InDelta(t, 400.0/1000, *keyFigure(r, reports.KeyAvailabilityFault).Value, 1e-12, "pooled: shed counted as failed")

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
	assert.Equal(t, 1.0, *keyFigure(r, reports.KeyAvailabilityJudged).Value)
	assert.Equal(t, 1.0, *keyFigure(r, reports.KeyAvailabilityDegraded).Value)
	assert.InDelta(t, 0.75, *keyFigure(r, reports.KeyAvailabilityFault).Value, 1e-12, "pooled: the inject phase's failures count")
	assert.Contains(t, md, "| PASSED | valid |   | 100.000% (SLO 99.000%) | 100.000% | 0.000% | 75.000% |")
}

func TestChartsInBrowser(t *testing.T) {
	ctx := pagetest.Browser(t)
	out := reportsFolder(t)
	require.NoError(t, Write(out))
	file := filepath.Join(out, HTMLFile)
	assert.Empty(t, pagetest.FetchesBeyond(pagetest.OpenPage(t, ctx, file), file), "the index fetched something")

	// Scenarios in name order: chaos-kong-demo in the first colour,
	// split-brain-demo in the second.
	for id, want := range map[string][]color.Color{
		"trend-replication":  {chart.Palette[1]},
		"trend-availability": {chart.Palette[0], chart.Palette[1]},
		"trend-convergence":  {chart.Palette[1]},
	} {
		img := pagetest.Screenshot(t, ctx, id+"-svg")
		if err := pagetest.CheckChart(img, want); err != nil {
			t.Errorf("%s: %v (screenshot: %s)", id, err, pagetest.KeepScreenshot(t, id, img))
		}
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("tr.run").length`))
	require.NoError(t, err)
	assert.Equal(t, 4, rows)
}
