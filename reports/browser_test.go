package reports

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/reports/chart"
)

// The pages are opened in a real headless Chromium with the network cut
// off, and each chart is screenshot and its pixels counted: the charts must
// be drawn, in their colours, and the page must ask for nothing.

// chromiumPath finds the browser: $KONG_CHROMIUM, else Debian's chromium on
// PATH. `kong setup` (make setup, run by make test) installs it.
func chromiumPath() (string, error) {
	if p := os.Getenv("KONG_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium is not installed: run `make setup` (kong setup installs it with apt-get install -y chromium), or set KONG_CHROMIUM to a Chromium executable")
}

// browser starts a headless Chromium that cannot reach any network: every
// host name resolves to nothing, every proxied request goes to a closed
// port on the loopback, and the page's network is emulated offline.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("needs headless Chromium; skipped with -short")
	}
	path, err := chromiumPath()
	require.NoError(t, err) // a full run fails without the browser: make test installs it first
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests may run as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1200, 900),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Env("TMPDIR="+t.TempDir()), // its scratch folders go with the test
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
		chromedp.Flag("hide-scrollbars", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	_, err = chromedp.Call(bctx, network.Enable, network.EnableParams{})
	require.NoError(t, err, "start %s", path)
	_, err = chromedp.Call(bctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
	})
	require.NoError(t, err)
	return bctx
}

// openPage loads a file in the browser and returns every URL the page
// asked for, the page's own included.
func openPage(t *testing.T, ctx context.Context, file string) []string {
	t.Helper()
	var mu sync.Mutex
	var urls []string
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	require.NoError(t, chromedp.Listen(lctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL)
			mu.Unlock()
		}
	}))
	abs, err := filepath.Abs(file)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate((&url.URL{Scheme: "file", Path: abs}).String())))
	// Give late requests (none are expected) time to show.
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => setTimeout(() => r(true), 300))`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), urls...)
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	return abs
}

// fetchesBeyond returns the URLs other than the page's own file.
func fetchesBeyond(urls []string, file string) []string {
	abs, _ := filepath.Abs(file)
	var out []string
	for _, u := range urls {
		if u != (&url.URL{Scheme: "file", Path: abs}).String() {
			out = append(out, u)
		}
	}
	return out
}

func screenshot(t *testing.T, ctx context.Context, id string) image.Image {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID(id)))
	require.NoError(t, err, "screenshot of #%s", id)
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return img
}

// ink measures a screenshot: the share of pixels that are not the white
// background, and how many pixels are near each colour asked for.
func ink(img image.Image, want []color.Color) (share float64, near []int) {
	near = make([]int, len(want))
	b := img.Bounds()
	inked := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 245 || g < 245 || bl < 245 {
				inked++
			}
			for i, c := range want {
				wr, wg, wb, _ := c.RGBA()
				if absDiff(r, wr>>8)+absDiff(g, wg>>8)+absDiff(bl, wb>>8) <= 60 {
					near[i]++
				}
			}
		}
	}
	return float64(inked) / float64(b.Dx()*b.Dy()), near
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// blend is c at opacity alpha over white, as a browser paints it.
func blend(c color.NRGBA) color.Color {
	a := float64(c.A) / 255
	mix := func(v uint8) uint8 { return uint8(float64(v)*a + 255*(1-a) + 0.5) }
	return color.NRGBA{R: mix(c.R), G: mix(c.G), B: mix(c.B), A: 0xFF}
}

// chartColours are colours each chart of the failed-run fixture must show
// in its screenshot: the series (by region or kind), the shaded fault
// windows, the 500 ms mark, the fault stages.
var chartColours = map[string][]color.Color{
	"chart-requests":              {chart.Palette[0], chart.Palette[1], chart.Palette[2], blend(chart.FaultShade)},
	"chart-rates":                 {chart.Palette[2], chart.Palette[3], chart.Palette[1], blend(chart.FaultShade)},
	"chart-latency":               {chart.Palette[1], chart.Palette[2], blend(chart.FaultShade)},
	"chart-replication-histogram": {chart.Palette[0], chart.TargetColor},
	"chart-replication-cdf":       {chart.Palette[0], chart.Palette[1], chart.TargetColor},
	"chart-cache":                 {chart.Palette[1], chart.Palette[2], blend(chart.FaultShade)},
	"chart-faults":                {stageEffect, stageOn, stageHealing, phaseColors[0]},
}

// checkChart says what is wrong with a chart's screenshot, or nil.
func checkChart(img image.Image, want []color.Color) error {
	b := img.Bounds()
	if b.Dx() < 400 || b.Dy() < 150 {
		return fmt.Errorf("the chart is %dx%d pixels", b.Dx(), b.Dy())
	}
	share, near := ink(img, want)
	if share < 0.015 {
		return fmt.Errorf("only %.2f%% of the chart's pixels are drawn", share*100)
	}
	for i, n := range near {
		if n < 25 {
			r, g, bl, _ := want[i].RGBA()
			return fmt.Errorf("colour #%02X%02X%02X: %d pixels", r>>8, g>>8, bl>>8, n)
		}
	}
	return nil
}

func TestHTMLChartsInBrowser(t *testing.T) {
	ctx := browser(t)
	r, dir := build(t, failedRun)
	require.NoError(t, WriteAll(dir, r))
	file := filepath.Join(dir, HTMLFile)

	urls := openPage(t, ctx, file)
	assert.Empty(t, fetchesBeyond(urls, file), "the report fetched something")
	require.NotEmpty(t, urls, "the page's own load is seen, so a fetch would be too")

	badge, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".badge")))
	require.NoError(t, err)
	assert.Equal(t, "FAILED", badge)

	for id, want := range chartColours {
		img := screenshot(t, ctx, id+"-svg")
		if err := checkChart(img, want); err != nil {
			t.Errorf("%s: %v (screenshot: %s)", id, err, keepScreenshot(t, id, img))
		}
	}

	// report.html#ID shows that chart alone, at the top (to link or
	// screenshot one chart).
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate((&url.URL{Scheme: "file", Path: mustAbs(t, file), Fragment: "chart-faults"}).String())))
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
	assert.Empty(t, fetchesBeyond(openPage(t, ctx, openFile), openFile))
}

// keepScreenshot saves a failed chart's screenshot for debugging and
// returns its path.
func keepScreenshot(t *testing.T, id string, img image.Image) string {
	f, err := os.CreateTemp("", "kong-"+id+"-*.png")
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		return err.Error()
	}
	return f.Name()
}

// The checks can fail: a page that loads an image from the network is
// caught (and, offline, gets nothing), and blank charts are refused.
func TestBrowserChecksCanFail(t *testing.T) {
	ctx := browser(t)
	r, dir := build(t, failedRun)
	page := htmlOf(t, r)

	fetching := filepath.Join(dir, "fetching.html")
	require.NoError(t, os.WriteFile(fetching, []byte(`<!DOCTYPE html><p>x</p><img src="http://kong-test.invalid/chart.png">`), 0o644))
	got := fetchesBeyond(openPage(t, ctx, fetching), fetching)
	assert.Equal(t, []string{"http://kong-test.invalid/chart.png"}, got)

	blank := svgElement.ReplaceAllString(page, `<svg id="$1" class="chart" width="100%" viewBox="0 0 648 244.8"></svg>`)
	require.NotEqual(t, page, blank)
	blankFile := filepath.Join(dir, "blank.html")
	require.NoError(t, os.WriteFile(blankFile, []byte(blank), 0o644))
	openPage(t, ctx, blankFile)
	for id, want := range chartColours {
		err := checkChart(screenshot(t, ctx, id+"-svg"), want)
		assert.Error(t, err, "%s: a blank chart must fail", id)
	}

	// A chart in the wrong colours fails too.
	grey := strings.NewReplacer("#0072B2", "#777777", "#D55E00", "#777777", "#009E73", "#777777").Replace(page)
	greyFile := filepath.Join(dir, "grey.html")
	require.NoError(t, os.WriteFile(greyFile, []byte(grey), 0o644))
	openPage(t, ctx, greyFile)
	assert.Error(t, checkChart(screenshot(t, ctx, "chart-requests-svg"), chartColours["chart-requests"]))
}

func TestIndexChartsInBrowser(t *testing.T) {
	ctx := browser(t)
	out := reportsFolder(t)
	require.NoError(t, WriteIndex(out))
	file := filepath.Join(out, IndexHTMLFile)
	assert.Empty(t, fetchesBeyond(openPage(t, ctx, file), file), "the index fetched something")

	// Scenarios in name order: chaos-kong-demo in the first colour,
	// split-brain-demo in the second.
	for id, want := range map[string][]color.Color{
		"trend-replication":  {chart.Palette[1]},
		"trend-availability": {chart.Palette[0], chart.Palette[1]},
		"trend-convergence":  {chart.Palette[1]},
	} {
		img := screenshot(t, ctx, id+"-svg")
		if err := checkChart(img, want); err != nil {
			t.Errorf("%s: %v (screenshot: %s)", id, err, keepScreenshot(t, id, img))
		}
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("tr.run").length`))
	require.NoError(t, err)
	assert.Equal(t, 4, rows)
}
