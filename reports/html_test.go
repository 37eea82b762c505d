package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/reports/internal/pagetest"
)

func htmlOf(t *testing.T, r *Report) string {
	return encode(t, func(w *bytes.Buffer) error { return EncodeHTML(w, r) })
}

func TestHTMLGolden(t *testing.T) {
	for _, name := range []string{failedRun, abortedRun} {
		t.Run(name, func(t *testing.T) {
			r, dir := build(t, name)
			page := htmlOf(t, r)
			golden(t, name+".report.html", pagetest.Skeleton(page))

			// WriteAll writes the same bytes, and building again gives the
			// same page, charts included (nothing depends on map order or
			// the clock).
			require.NoError(t, WriteAll(dir, r))
			b, err := os.ReadFile(filepath.Join(dir, HTMLFile))
			require.NoError(t, err)
			assert.Equal(t, page, string(b))
			r2, err := Build(dir)
			require.NoError(t, err)
			assert.Equal(t, page, htmlOf(t, r2))
		})
	}
}

func TestHTMLChartsHoldTheData(t *testing.T) {
	r, _ := build(t, failedRun)
	page := htmlOf(t, r)
	got := pagetest.Charts(page)
	want := []string{"chart-requests", "chart-rates", "chart-latency", "chart-replication-histogram",
		"chart-replication-cdf", "chart-cache", "chart-faults"}
	for _, id := range want {
		require.Contains(t, got, id)
		svg := got[id]
		assert.Greater(t, strings.Count(svg, "<path"), 20, "%s draws axes, grid and data", id)
		assert.Contains(t, page, `<figure id="`+id+`">`)
	}
	assert.Len(t, got, len(want))

	// Region series in their colours, fault windows shaded, traffic changes
	// marked, in the requests chart.
	req := got["chart-requests"]
	for _, s := range []string{">us-east-1<", ">us-west-2<", ">no region<", ">all regions<", ">fault on<", ">traffic change<",
		"stroke:#0072B2", "stroke:#D55E00", "stroke:#009E73", "fill:#D45D00;fill-opacity:0.18"} {
		assert.Contains(t, req, s)
	}
	for _, s := range []string{">success<", ">shed<", ">error<"} {
		assert.Contains(t, got["chart-rates"], s)
	}
	for _, s := range []string{">us-east-1 p99<", ">us-east-1 p50<", ">us-west-2 p99<", "stroke-dasharray"} {
		assert.Contains(t, got["chart-latency"], s)
	}
	for _, id := range []string{"chart-replication-histogram", "chart-replication-cdf"} {
		assert.Contains(t, got[id], ">500 ms<", "%s marks 500 ms", id)
		assert.Contains(t, got[id], "stroke:#C00000")
	}
	assert.Contains(t, got["chart-replication-cdf"], ">p50, p90, p99, p99.9, max<")
	for _, s := range []string{">phases<", ">partition-regions us-east-1&lt;-&gt;us-west-2<", ">kill-zone us-east-1a<",
		"inject +4.000s: effect after 0.250s; recover +8.000s: healed after 0.500s",
		"inject +5.000s: effect after 0.500s; recover +9.000s: not seen healed", ">steady-state<"} {
		assert.Contains(t, got["chart-faults"], s)
	}
	assert.Contains(t, got["chart-cache"], ">us-west-2<")

	// Fonts fall back to the reader's sans-serif.
	assert.NotContains(t, page, "font-family:Liberation Sans;")
	assert.Contains(t, page, "font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif")
}

func TestHTMLTopSaysVerdictAndReason(t *testing.T) {
	r, _ := build(t, failedRun)
	page := htmlOf(t, r)
	top := page[:strings.Index(page, "<main>")]
	assert.Contains(t, top, `<span class="badge">FAILED</span>`)
	assert.Contains(t, top, `Verdict: <strong class="v-invalid">invalid</strong>`)
	assert.Contains(t, top, "<strong>Why it stopped:</strong> checkers not valid: availability: invalid; latency: unknown; shedding: invalid")
	for _, c := range r.LeafCheckers() {
		assert.Contains(t, page, `<td class="v-`+string(c.Valid)+`">`+string(c.Valid)+`</td>`)
	}
	assert.Contains(t, page, `<div class="figure" data-key="replication.p99_ms"><div class="value">180.5 ms</div>`)
	assert.Contains(t, page, `<div class="figure" data-key="availability.fault"><div class="value">78.125%</div>`)

	r, _ = build(t, abortedRun)
	page = htmlOf(t, r)
	assert.Contains(t, page, `<span class="badge">ABORTED</span>`)
	assert.Contains(t, page, "<strong>Why it stopped:</strong> stop condition: availability of us-east-1 fell to 0.40")
	assert.Contains(t, page, "No checker results were recorded.")
	assert.NotContains(t, page, `id="chart-replication`, "no replication check, no replication charts")
}

// Text from the history or run.json cannot inject markup.
func TestHTMLEscapes(t *testing.T) {
	r, _ := build(t, failedRun)
	r.Run.Scenario = `<script>alert(1)</script>`
	r.Checkers = []history.Result{{Checker: `<b>x</b>`, Valid: history.VerdictInvalid, Reason: `"<img src=x>"`}}
	r.Series.Regions[1].Region = `<i>east</i>`
	page := htmlOf(t, r)
	assert.NotContains(t, page, "<script>")
	assert.NotContains(t, page, "<b>x</b>")
	assert.NotContains(t, page, "<img")
	assert.NotContains(t, page, "<i>east</i>")
	assert.Contains(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.Empty(t, pagetest.ExternalRefs(page))
}

// A run with neither history nor checkers still gets a page, which says
// what it could not draw.
func TestHTMLWithoutHistory(t *testing.T) {
	dir := copyRun(t, abortedRun)
	require.NoError(t, os.Remove(filepath.Join(dir, history.HistoryFile)))
	r, err := Build(dir)
	require.NoError(t, err)
	page := htmlOf(t, r)
	assert.Contains(t, page, "No completed user operations were recorded.")
	assert.Contains(t, page, `<p class="empty">`)
	assert.Empty(t, pagetest.ExternalRefs(page))
}

func TestHTMLFetchesNothing(t *testing.T) {
	for _, name := range []string{failedRun, abortedRun} {
		r, _ := build(t, name)
		page := htmlOf(t, r)
		assert.Empty(t, pagetest.ExternalRefs(page), name)
		assert.Contains(t, page, `<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;`)
	}
	// The check finds what it is for.
	for _, bad := range []string{`<img src="http://example.invalid/x.png">`, `<link rel="stylesheet" href="x.css">`,
		`<style>@import "x.css"</style>`, `<div style="background: url(x.png)">`, `<script src="app.js"></script>`,
		`<image xlink:href="https://example.invalid/x.png"/>`} {
		assert.NotEmpty(t, pagetest.ExternalRefs("<p>ok</p>"+bad), bad)
	}
}

// A replication check's histogram runs over decades: the lag axis is
// logarithmic and still marks 500 ms.
func TestReplicationChartsOnALogAxis(t *testing.T) {
	r, _ := build(t, failedRun)
	r.Replication = &history.Replication{Samples: 1000, VisibleAtRead: 0.99, P50: 3, P90: 12, P99: 180, P999: 900, Max: 4000,
		Histogram: []history.LagBucket{{UpperMs: 2, Count: 100}, {UpperMs: 5, Count: 400}, {UpperMs: 10, Count: 300}, {UpperMs: 20, Count: 100},
			{UpperMs: 50, Count: 50}, {UpperMs: 100, Count: 30}, {UpperMs: 200, Count: 10}, {UpperMs: 500, Count: 6},
			{UpperMs: 1000, Count: 3}, {UpperMs: 5000, Count: 1}}}
	page := htmlOf(t, r)
	got := pagetest.Charts(page)
	for _, id := range []string{"chart-replication-histogram", "chart-replication-cdf"} {
		svg := got[id]
		require.NotEmpty(t, svg, id)
		assert.Contains(t, svg, ">500 ms<", id)
		for _, tick := range []string{">1<", ">10<", ">100<", ">1000<"} {
			assert.Contains(t, svg, tick, "%s: decade ticks", id)
		}
	}
	assert.Equal(t, 2, strings.Count(page, "The lag axis is logarithmic."))

	// The fixture's narrow histogram stays on a linear axis.
	r, _ = build(t, failedRun)
	assert.NotContains(t, htmlOf(t, r), "logarithmic")
}
