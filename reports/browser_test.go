package reports

// The report is opened in a real headless Chromium with the network cut
// off (package pagetest), and each chart is screenshot and its pixels
// counted: the charts must be drawn, in their colours, and the page must
// ask for nothing.

import (
	"image/color"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/reports/chart"
	"github.com/kongchaos/kong/reports/internal/pagetest"
)

// chartColours are colours each chart of the failed-run fixture must show
// in its screenshot: the series (by region or kind), the shaded fault
// windows, the 500 ms mark, the fault stages.
var chartColours = map[string][]color.Color{
	"chart-requests":              {chart.Palette[0], chart.Palette[1], chart.Palette[2], pagetest.Blend(chart.FaultShade)},
	"chart-rates":                 {chart.Palette[2], chart.Palette[3], chart.Palette[1], pagetest.Blend(chart.FaultShade)},
	"chart-latency":               {chart.Palette[1], chart.Palette[2], pagetest.Blend(chart.FaultShade)},
	"chart-replication-histogram": {chart.Palette[0], chart.TargetColor},
	"chart-replication-cdf":       {chart.Palette[0], chart.Palette[1], chart.TargetColor},
	"chart-cache":                 {chart.Palette[1], chart.Palette[2], pagetest.Blend(chart.FaultShade)},
	"chart-faults":                {stageEffect, stageOn, stageHealing, phaseColors[0]},
}

func TestHTMLChartsInBrowser(t *testing.T) {
	ctx := pagetest.Browser(t)
	r, dir := build(t, failedRun)
	require.NoError(t, WriteAll(dir, r))
	file := filepath.Join(dir, HTMLFile)

	urls := pagetest.OpenPage(t, ctx, file)
	assert.Empty(t, pagetest.FetchesBeyond(urls, file), "the report fetched something")
	require.NotEmpty(t, urls, "the page's own load is seen, so a fetch would be too")

	badge, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".badge")))
	require.NoError(t, err)
	assert.Equal(t, "FAILED", badge)

	for id, want := range chartColours {
		img := pagetest.Screenshot(t, ctx, id+"-svg")
		if err := pagetest.CheckChart(img, want); err != nil {
			t.Errorf("%s: %v (screenshot: %s)", id, err, pagetest.KeepScreenshot(t, id, img))
		}
	}

	// report.html#ID shows that chart alone, at the top (to link or
	// screenshot one chart).
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate((&url.URL{Scheme: "file", Path: pagetest.MustAbs(t, file), Fragment: "chart-faults"}).String())))
	alone, err := chromedp.Run(ctx, chromedp.Evaluate[[]any](`[getComputedStyle(document.querySelector("header")).display,
		getComputedStyle(document.querySelector("#chart-requests")).display,
		document.querySelector("#chart-faults").getBoundingClientRect().top]`))
	require.NoError(t, err)
	assert.Equal(t, []any{"none", "none"}, alone[:2])
	assert.Less(t, alone[2].(float64), 60.0)

	// Without its content policy the page still asks for nothing: the
	// policy is a guard, not what keeps it offline.
	page, err := os.ReadFile(file)
	require.NoError(t, err)
	open := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy"[^>]*>`).ReplaceAll(page, nil)
	require.NotEqual(t, page, open)
	openFile := filepath.Join(dir, "open.html")
	require.NoError(t, os.WriteFile(openFile, open, 0o644))
	assert.Empty(t, pagetest.FetchesBeyond(pagetest.OpenPage(t, ctx, openFile), openFile))
}

// The checks can fail: a page that loads an image from the network is
// caught (and, offline, gets nothing), and blank charts are refused.
func TestBrowserChecksCanFail(t *testing.T) {
	ctx := pagetest.Browser(t)
	r, dir := build(t, failedRun)
	page := htmlOf(t, r)

	fetching := filepath.Join(dir, "fetching.html")
	require.NoError(t, os.WriteFile(fetching, []byte(`<!DOCTYPE html><p>x</p><img src="http://kong-test.invalid/chart.png">`), 0o644))
	got := pagetest.FetchesBeyond(pagetest.OpenPage(t, ctx, fetching), fetching)
	assert.Equal(t, []string{"http://kong-test.invalid/chart.png"}, got)

	blank := pagetest.SVGElement.ReplaceAllString(page, `<svg id="$1" class="chart" width="100%" viewBox="0 0 648 244.8"></svg>`)
	require.NotEqual(t, page, blank)
	blankFile := filepath.Join(dir, "blank.html")
	require.NoError(t, os.WriteFile(blankFile, []byte(blank), 0o644))
	pagetest.OpenPage(t, ctx, blankFile)
	for id, want := range chartColours {
		err := pagetest.CheckChart(pagetest.Screenshot(t, ctx, id+"-svg"), want)
		assert.Error(t, err, "%s: a blank chart must fail", id)
	}

	// A chart in the wrong colours fails too.
	grey := strings.NewReplacer("#0072B2", "#777777", "#D55E00", "#777777", "#009E73", "#777777").Replace(page)
	greyFile := filepath.Join(dir, "grey.html")
	require.NoError(t, os.WriteFile(greyFile, []byte(grey), 0o644))
	pagetest.OpenPage(t, ctx, greyFile)
	assert.Error(t, pagetest.CheckChart(pagetest.Screenshot(t, ctx, "chart-requests-svg"), chartColours["chart-requests"]))
}
