package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/check"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/internal/pagetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// The fixtures are fixed, hand-made run directories.
const (
	failedRun  = "failed-run"
	abortedRun = "aborted-run"
)

// copyRun copies a fixture into a temporary directory, since the writers
// write into the run's directory.
func copyRun(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("testdata", name)
	require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
	return dir
}

func build(t *testing.T, name string) (*Report, string) {
	t.Helper()
	dir := copyRun(t, name)
	r, err := Build(dir)
	require.NoError(t, err)
	return r, dir
}

func encode(t *testing.T, enc func(w *bytes.Buffer) error) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, enc(&buf))
	return buf.String()
}

func markdown(t *testing.T, r *Report) string {
	return encode(t, func(w *bytes.Buffer) error { return EncodeMarkdown(w, r) })
}

func junit(t *testing.T, r *Report) string {
	return encode(t, func(w *bytes.Buffer) error { return EncodeJUnit(w, r) })
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	pagetest.Golden(t, filepath.Join("testdata", "golden", name), got, *update, "go test ./reports -update")
}

func TestGolden(t *testing.T) {
	for _, name := range []string{failedRun, abortedRun} {
		t.Run(name, func(t *testing.T) {
			r, dir := build(t, name)
			md, ju := markdown(t, r), junit(t, r)
			golden(t, name+".report.md", md)
			golden(t, name+".junit.xml", ju)

			// WriteAll writes the same bytes, and building twice gives the
			// same output (no map order or clock leaks in).
			require.NoError(t, WriteAll(dir, r))
			for file, want := range map[string]string{MarkdownFile: md, JUnitFile: ju} {
				b, err := os.ReadFile(filepath.Join(dir, file))
				require.NoError(t, err)
				assert.Equal(t, want, string(b), file)
			}
			r2, err := Build(dir)
			require.NoError(t, err)
			assert.Equal(t, md, markdown(t, r2))
			assert.Equal(t, ju, junit(t, r2))
		})
	}
}

// The fixtures are histories the harness itself can read.
func TestFixturesAreHarnessHistories(t *testing.T) {
	for _, name := range []string{failedRun, abortedRun} {
		h, err := history.Load(filepath.Join("testdata", name, history.HistoryFile))
		require.NoError(t, err, name)
		assert.NotEmpty(t, h.Ops, name)
		assert.NotEmpty(t, h.Events, name)
	}
}

func TestBuildFailedRun(t *testing.T) {
	r, _ := build(t, failedRun)
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	assert.Equal(t, SchemaVersion, r.Schema)
	assert.Equal(t, history.StatusFailed, r.Status)
	assert.Equal(t, history.VerdictInvalid, r.Verdict)
	assert.Equal(t, "split-brain-demo", r.Run.Scenario)
	assert.Nil(t, r.Run.Checkers, "checkers are moved to Report.Checkers")
	require.Len(t, r.Checkers, 1)
	assert.Len(t, r.LeafCheckers(), 4)
	assert.Equal(t, t0, r.Start)
	assert.Equal(t, at(12500), r.End)
	assert.Equal(t, 12.5, r.DurationS)

	// 2 regions x 4 sessions x 12 s, invoke + completion; 4 probes; one
	// orphan completion; one pending invoke.
	assert.Equal(t, HistoryStats{Present: true, Ops: 202, Events: 15, Operations: 102, Completed: 101,
		Pending: 1, Orphans: 1, Probes: 4}, r.History)

	require.Len(t, r.Phases, 5)
	assert.Equal(t, history.PhaseWindow{Name: "steady-state", Start: t0, End: at(4000)}, r.Phases[0])
	assert.Equal(t, history.PhaseWindow{Name: "converge", Start: at(10000), End: at(12500)}, r.Phases[4])

	require.Len(t, r.Faults, 2)
	p := r.Faults[0]
	assert.Equal(t, "partition-regions", p.Name)
	assert.Equal(t, "us-east-1<->us-west-2", p.Target)
	assert.Equal(t, at(4000), *p.Inject)
	assert.Equal(t, at(4250), *p.Injected)
	assert.Equal(t, at(8000), *p.Recover)
	assert.Equal(t, at(8500), *p.Recovered)
	assert.InDelta(t, 0.25, *p.TimeToEffectS, 1e-9)
	assert.InDelta(t, 0.5, *p.TimeToHealS, 1e-9)
	assert.Equal(t, map[string]string{"mode": "drop"}, p.Detail)
	k := r.Faults[1]
	assert.Equal(t, "kill-zone", k.Name)
	assert.InDelta(t, 0.5, *k.TimeToEffectS, 1e-9)
	assert.Equal(t, at(9000), *k.Recover)
	assert.Nil(t, k.Recovered, "its healing was never seen")
	assert.Nil(t, k.TimeToHealS)

	require.Len(t, r.Traffic, 2)
	assert.Equal(t, at(6000), r.Traffic[0].Time)
	assert.Equal(t, "0", r.Traffic[0].Detail["us-east-1"])
	require.Len(t, r.Events, 1)
	assert.Equal(t, history.Note, r.Events[0].Kind)

	// Series: 12.5 s gives 13 seconds; regions by Entry, else serving region.
	s := r.Series
	assert.Equal(t, 13, s.Seconds)
	require.Len(t, s.Regions, 3)
	assert.Equal(t, "-", s.Regions[0].Region, "no entry and no serving region")
	assert.Equal(t, "us-east-1", s.Regions[1].Region)
	assert.Equal(t, "us-west-2", s.Regions[2].Region)
	for _, rs := range s.Regions {
		assert.Len(t, rs.Points, 13)
	}
	assert.Equal(t, Counts{Requests: 1, Fail: 1, Reads: 1}, s.Regions[0].Points[1].Counts)
	east6 := s.Regions[1].Points[6]
	assert.Equal(t, Counts{Requests: 4, OK: 3, Fail: 1, Redirected: 1, CacheHits: 1, Reads: 3}, east6.Counts)
	// ok latencies at 6 s in us-east-1: 44, 46, 48 ms.
	assert.Equal(t, 46.0, east6.P50Ms)
	assert.Equal(t, 48.0, east6.P99Ms)
	west6 := s.Regions[2].Points[6]
	assert.Equal(t, Counts{Requests: 4, OK: 3, Fail: 1, Shed: 1, CacheHits: 2, Reads: 3}, west6.Counts)
	assert.Equal(t, 8, s.Global[6].Requests)
	assert.Equal(t, 6, s.Global[6].OK)
	assert.Equal(t, 0.75, *s.Global[6].SuccessRate)
	assert.Nil(t, s.Global[12].SuccessRate, "nothing completed in the last half second")
	total := 0
	for _, g := range s.Global {
		total += g.Requests
	}
	assert.Equal(t, 97, total, "every completed user operation, no probe, no pending")

	// Figures: observe runs from 4.5 s; us-east-1 lost 4 fails + 1 info of
	// 14, us-west-2 shed 2 of 14. Computed "shed" wins over run.json's.
	f := r.Figures
	assert.InDelta(t, 9.0/14, f["availability.us-east-1.observe"], 1e-12)
	assert.InDelta(t, 12.0/14, f["availability.us-west-2.observe"], 1e-12)
	assert.Equal(t, 1.0, f["availability.us-west-2.steady-state"])
	assert.Equal(t, 12.0, f["latency_p99_ms.steady-state"])
	assert.Equal(t, 97.0, f["requests"])
	assert.Equal(t, 2.0, f["shed"])
	assert.InDelta(t, 89.0/97, f["availability"], 1e-12)
	assert.Equal(t, 1.25, f[KeyConvergence], "copied from run.json")
	assert.Equal(t, 180.5, f["replication.p99_ms"], "copied from run.json")
	assert.Contains(t, strings.Join(r.Notes, "\n"), "run figure shed is also computed")

	require.Len(t, r.PhaseFigures, 5)
	obs := r.PhaseFigures[2]
	assert.Equal(t, "observe", obs.Phase)
	assert.Equal(t, Counts{Requests: 28, OK: 21, Fail: 6, Info: 1, Shed: 2, Redirected: 1, Proxied: 1, CacheHits: 3, Reads: 20}, obs.Counts)

	require.NotNil(t, r.Replication)
	assert.Equal(t, 1000, r.Replication.Samples)
	assert.Equal(t, 180.5, r.Replication.P99)
	assert.Len(t, r.Replication.Histogram, 5)
}

func TestJSONRoundTrip(t *testing.T) {
	for _, name := range []string{failedRun, abortedRun} {
		t.Run(name, func(t *testing.T) {
			r, dir := build(t, name)
			require.NoError(t, JSONWriter.Write(dir, r))
			got, err := Load(dir)
			require.NoError(t, err)
			require.Equal(t, r, got)

			raw, err := os.ReadFile(filepath.Join(dir, JSONFile))
			require.NoError(t, err)
			assert.True(t, bytes.HasPrefix(raw, []byte("{\n  \"schema\": 1,\n")), "indented by two, schema first")
			var m map[string]any
			require.NoError(t, json.Unmarshal(raw, &m))
			for _, k := range []string{"run", "status", "reason", "verdict", "checkers", "phases", "faults",
				"traffic", "series", "phase_figures", "figures", "notes"} {
				assert.Contains(t, m, k)
			}
		})
	}
}

func TestLoadRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, JSONFile), []byte(`{"schema": 2}`), 0o644))
	_, err := Load(dir)
	require.ErrorContains(t, err, "schema 2")
}

func TestAbortedRunWithTruncatedHistory(t *testing.T) {
	r, dir := build(t, abortedRun)
	require.NoError(t, WriteAll(dir, r))
	for _, f := range []string{JSONFile, MarkdownFile, JUnitFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.NotZero(t, fi.Size(), f)
	}
	reason := "stop condition: availability of us-east-1 fell to 0.40, below the abort threshold 0.50; faults healed"
	assert.Equal(t, history.StatusAborted, r.Status)
	assert.Equal(t, reason, r.Reason)
	assert.Equal(t, history.VerdictUnknown, r.Verdict)
	assert.True(t, r.History.Truncated)
	assert.Equal(t, 2, r.History.Pending)
	require.Len(t, r.Faults, 1)
	assert.NotNil(t, r.Faults[0].Recover)
	assert.Nil(t, r.Faults[0].Recovered)

	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	require.NoError(t, err)
	for _, want := range []string{
		"# chaos-kong-demo: ABORTED",
		"**Why it stopped:** " + reason,
		"No checker results were recorded.",
		"truncated line",
		"| evacuate-region | us-east-1 | +2.000s | +2.400s (after 0.400s) | +3.600s | not seen |",
		"kong run chaos-kong-demo --seed 7 --profile small",
	} {
		assert.Contains(t, string(md), want)
	}

	b, err := os.ReadFile(filepath.Join(dir, JUnitFile))
	require.NoError(t, err)
	s := parseJUnit(t, b)
	require.Len(t, s.Cases, 1, "no checkers: one test case for the run, so CI does not read it as green")
	assert.Equal(t, "run", s.Cases[0].Name)
	require.NotNil(t, s.Cases[0].Failure)
	assert.Equal(t, "aborted: "+reason, s.Cases[0].Failure.Message)
	assert.Equal(t, 1, s.Failures)

	got, err := Load(dir)
	require.NoError(t, err)
	assert.Equal(t, r, got)
}

// Without run.json the report still comes out, says what is missing and
// takes the reason from the history's abort event.
func TestAbortedRunWithoutRunInfo(t *testing.T) {
	dir := copyRun(t, abortedRun)
	require.NoError(t, os.Remove(filepath.Join(dir, history.RunInfoFile)))
	r, err := Build(dir)
	require.NoError(t, err)
	require.NoError(t, WriteAll(dir, r))
	assert.Equal(t, history.StatusAborted, r.Status)
	assert.Equal(t, "aborted: availability of us-east-1 fell to 0.40, below the abort threshold 0.50 (us-east-1)", r.Reason)
	md := markdown(t, r)
	assert.Contains(t, md, "run.json is missing")
	assert.Contains(t, md, "**Why it stopped:** aborted: availability of us-east-1 fell to 0.40")
}

func TestBuildNeedsARunDirectory(t *testing.T) {
	_, err := Build(t.TempDir())
	require.ErrorContains(t, err, "not a run's artifacts directory")
	_, err = Build(filepath.Join(t.TempDir(), "nope"))
	require.Error(t, err)
}

// A garbled line in the middle of a history is skipped and noted, where
// history.Read would refuse the whole file.
func TestGarbledHistoryLine(t *testing.T) {
	dir := copyRun(t, failedRun)
	path := filepath.Join(dir, history.HistoryFile)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	lines[10] = "not json\n"
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644))
	_, err = history.Load(path)
	require.Error(t, err)

	r, err := Build(dir)
	require.NoError(t, err)
	assert.Equal(t, 1, r.History.BadLines)
	assert.False(t, r.History.Truncated)
	assert.Equal(t, 217-1, r.History.Ops+r.History.Events, "one record lost")
	assert.Contains(t, strings.Join(r.Notes, "\n"), "1 unreadable lines skipped (first: line 11:")
}

func TestMarkdownNamesEveryFailedCheckerReason(t *testing.T) {
	r, _ := build(t, failedRun)
	md := markdown(t, r)
	n := 0
	for _, c := range r.LeafCheckers() {
		if c.Valid != history.VerdictInvalid {
			continue
		}
		n++
		assert.Contains(t, md, c.Reason, "checker %s", c.Checker)
		assert.Contains(t, md, "### "+c.Checker+": invalid")
		for _, d := range c.Details {
			assert.Contains(t, md, "- "+d)
		}
	}
	require.Equal(t, 2, n, "the fixture has two invalid checkers")

	// Reasons are escaped in the table (a | would split the cell).
	assert.Contains(t, md, `| availability | **invalid** | region us-east-1 phase observe: availability 0.8750 < SLO 0.9990 \| 4 failed, 1 unknown |`)

	// A hand-made report: every invalid checker, nested or not, is named.
	rep := &Report{Status: history.StatusFailed, Reason: "checkers not valid", Verdict: history.VerdictInvalid,
		Checkers: []history.Result{
			{Checker: "top", Valid: history.VerdictInvalid, Reason: "reason one"},
			{Checker: "all", Valid: history.VerdictInvalid, Children: []history.Result{
				{Checker: "inner", Valid: history.VerdictInvalid, Reason: "reason two"},
				{Checker: "fine", Valid: history.VerdictValid, Reason: "reason three"},
			}},
		}}
	md = markdown(t, rep)
	for _, want := range []string{"| top | **invalid** | reason one |", "| inner | **invalid** | reason two |",
		"| fine | valid | reason three |", "### top: invalid", "### inner: invalid"} {
		assert.Contains(t, md, want)
	}
	assert.NotContains(t, md, "### fine")
}

func parseJUnit(t *testing.T, b []byte) junitSuite {
	t.Helper()
	var s junitSuite
	require.NoError(t, xml.Unmarshal(b, &s))
	return s
}

func TestJUnit(t *testing.T) {
	r, _ := build(t, failedRun)
	s := parseJUnit(t, []byte(junit(t, r)))
	assert.Equal(t, "split-brain-demo", s.Name)
	assert.Equal(t, 4, s.Tests)
	assert.Equal(t, 2, s.Failures)
	assert.Equal(t, 1, s.Skipped)
	assert.Equal(t, "12.500", s.Time)
	require.Len(t, s.Cases, 4)
	leaves := r.LeafCheckers()
	for i, c := range s.Cases {
		assert.Equal(t, leaves[i].Checker, c.Name)
		assert.Equal(t, "kong.split-brain-demo", c.Classname)
		assert.Equal(t, "3.125", c.Time)
		switch leaves[i].Valid {
		case history.VerdictInvalid:
			require.NotNil(t, c.Failure, c.Name)
			assert.Equal(t, leaves[i].Reason, c.Failure.Message)
			assert.Nil(t, c.Skipped)
		case history.VerdictUnknown:
			require.NotNil(t, c.Skipped, c.Name)
			assert.Equal(t, leaves[i].Reason, c.Skipped.Message)
		default:
			assert.Nil(t, c.Failure, c.Name)
			assert.Nil(t, c.Skipped, c.Name)
		}
	}

	// Text that is not XML-safe still gives valid XML.
	r.Checkers = []history.Result{{Checker: `a<b>&"c"`, Valid: history.VerdictInvalid, Reason: "x \x00 < y & \"z\"\nnext"}}
	s = parseJUnit(t, []byte(junit(t, r)))
	require.Len(t, s.Cases, 1)
	assert.Equal(t, `a<b>&"c"`, s.Cases[0].Name)
	assert.Equal(t, "x \uFFFD < y & \"z\"\nnext", s.Cases[0].Failure.Message)
}

// Re-injecting a fault on the same target pairs each event with its own
// injection, written through the harness's own Recorder.
func TestFaultPairing(t *testing.T) {
	dir := t.TempDir()
	rec, err := history.NewRecorder(filepath.Join(dir, history.HistoryFile))
	require.NoError(t, err)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(k history.EventKind, s float64, name, target string) {
		rec.Event(history.Event{Kind: k, Time: t0.Add(time.Duration(s * float64(time.Second))), Name: name, Target: target})
	}
	ev(history.PhaseStart, 0, "steady-state", "")
	ev(history.FaultInject, 1, "pause", "n1")
	ev(history.FaultInject, 1, "pause", "n2")
	ev(history.FaultEffect, 1.5, "pause", "n2")
	ev(history.FaultRecover, 2, "pause", "n1") // n1's effect never seen
	ev(history.FaultRecover, 2, "pause", "n2")
	ev(history.FaultRecover, 2.2, "pause", "n2") // a retry after a failed recovery
	ev(history.FaultHealed, 2.7, "pause", "n2")
	ev(history.FaultHealed, 2.5, "pause", "n1")
	ev(history.FaultInject, 3, "pause", "n1") // again
	ev(history.FaultEffect, 3.25, "pause", "n1")
	ev(history.FaultHealed, 4, "pause", "n3") // never injected
	require.NoError(t, rec.Close())

	r, err := Build(dir)
	require.NoError(t, err)
	require.Len(t, r.Faults, 4)
	type row struct {
		target              string
		inject, effect, rec bool
		healed              bool
	}
	got := make([]row, 0, len(r.Faults))
	for _, f := range r.Faults {
		got = append(got, row{f.Target, f.Inject != nil, f.Injected != nil, f.Recover != nil, f.Recovered != nil})
	}
	assert.Equal(t, []row{
		{"n1", true, false, true, true},
		{"n2", true, true, true, true},
		{"n1", true, true, false, false},
		{"n3", false, false, false, true},
	}, got)
	assert.InDelta(t, 0.25, *r.Faults[2].TimeToEffectS, 1e-9)
	assert.InDelta(t, 0.5, *r.Faults[0].TimeToHealS, 1e-9)
	assert.Nil(t, r.Faults[0].TimeToEffectS)
	assert.InDelta(t, 0.7, *r.Faults[1].TimeToHealS, 1e-9, "healing is timed from the first recovery attempt")
	assert.Contains(t, strings.Join(r.Notes, "\n"), "fault pause on n3: its injection is not in the history")
	// Without run.json: status error, and the Markdown still renders.
	assert.Equal(t, history.StatusError, r.Status)
	assert.Contains(t, markdown(t, r), "| pause | n3 | not recorded | not seen | not recovered | +4.000s |")
}

// The replication section comes from replication.json alone; without it a
// run's replication figure still reaches the key figures.
func TestReplicationSectionNeedsItsFile(t *testing.T) {
	dir := copyRun(t, failedRun)
	require.NoError(t, os.Remove(filepath.Join(dir, history.ReplicationFile)))
	r, err := Build(dir)
	require.NoError(t, err)
	assert.Nil(t, r.Replication)
	assert.NotContains(t, markdown(t, r), "## Replication lag")
	for _, f := range KeyFigures(r) {
		switch f.Key {
		case KeyReplicationP99:
			require.NotNil(t, f.Value, "the run figure")
			assert.Equal(t, 180.5, *f.Value)
		case KeyReplicationLowBound, KeyReplicationOnTime:
			assert.Nil(t, f.Value, "no replication check summary: no bounds")
		}
	}
}

// An extra writer is written by WriteAll, and one failing writer does not
// stop the others.
func TestWritersExtensionPoint(t *testing.T) {
	saved := Writers
	t.Cleanup(func() { Writers = saved })
	Writers = append(append([]Writer{}, saved...),
		Writer{Name: "broken", File: "broken.txt", Encode: func(w io.Writer, r *Report) error { return errors.New("boom") }},
		Writer{Name: "text", File: "report.txt", Encode: func(w io.Writer, r *Report) error {
			_, err := io.WriteString(w, string(r.Status))
			return err
		}},
	)
	r, dir := build(t, failedRun)
	err := WriteAll(dir, r)
	require.ErrorContains(t, err, "broken report: boom")
	b, err := os.ReadFile(filepath.Join(dir, "report.txt"))
	require.NoError(t, err)
	assert.Equal(t, "failed", string(b))
	_, err = os.Stat(filepath.Join(dir, "broken.txt"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	for _, f := range []string{JSONFile, MarkdownFile, JUnitFile} {
		_, err := os.Stat(filepath.Join(dir, f))
		assert.NoError(t, err, f)
	}
}

// The checker names a recorded run carries are names checkers register
// under: a renamed checker would leave old runs' results behind.
func TestRecordedCheckerNamesAreRegistered(t *testing.T) {
	registered := map[string]bool{}
	for _, e := range check.Registered() {
		registered[e.Name] = true
	}
	r, _ := build(t, failedRun)
	leaves := r.LeafCheckers()
	require.NotEmpty(t, leaves)
	for _, c := range leaves {
		assert.True(t, registered[c.Checker], "%s is not a registered checker", c.Checker)
	}
}

// A run whose load generator fell behind says so at the top of every
// report; one that kept its schedule says so in its run table only.
func TestGeneratorReportReachesTheReports(t *testing.T) {
	r, _ := build(t, failedRun)
	require.NotNil(t, r.Run.Generator)
	assert.False(t, r.Run.Generator.Kept)
	const behind = "The load generator did not keep its schedule:"
	js := encode(t, func(w *bytes.Buffer) error { return EncodeJSON(w, r) })
	assert.Contains(t, js, `"generator": {`)
	assert.Contains(t, js, `"kept": false`)
	md := markdown(t, r)
	assert.Less(t, strings.Index(md, "**"+behind+"** started 101 of 120"), strings.Index(md, "| Run |"), "before the run table")
	assert.Contains(t, htmlOf(t, r), `<p class="warning"><strong>`+behind+`</strong> started 101 of 120`)
	ju := junit(t, r)
	assert.Contains(t, ju, `<property name="generator" value="did not keep its schedule: started 101 of 120`)
	assert.Contains(t, ju, "<system-out>"+behind)

	r, _ = build(t, abortedRun)
	require.True(t, r.Run.Generator.Kept)
	assert.NotContains(t, markdown(t, r), behind)
	assert.Contains(t, markdown(t, r), "| Load generator | kept its schedule: started 35 of 35")
	assert.NotContains(t, junit(t, r), "<system-out>")

	r.Run.Generator = nil // a run.json without a generator report
	assert.NotContains(t, markdown(t, r), "Load generator")
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
