// Package pagetest holds what the tests of kong's HTML pages share: a
// headless Chromium cut off from every network that opens a page and
// screenshots its charts, the checks of what a page fetches and draws, and
// golden files. Only tests import it.
package pagetest

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
)

// The pages are opened in a real headless Chromium with the network cut
// off, and each chart is screenshot and its pixels counted: the charts must
// be drawn, in their colours, and the page must ask for nothing.

// ChromiumPath finds the browser: $KONG_CHROMIUM, else Debian's chromium on
// PATH. `kong setup` (make setup, run by make test) installs it.
func ChromiumPath() (string, error) {
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

// Browser starts a headless Chromium that cannot reach any network: every
// host name resolves to nothing, every proxied request goes to a closed
// port on the loopback, and the page's network is emulated offline.
func Browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("needs headless Chromium; skipped with -short")
	}
	path, err := ChromiumPath()
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

// OpenPage loads a file in the browser and returns every URL the page
// asked for, the page's own included.
func OpenPage(t *testing.T, ctx context.Context, file string) []string {
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

func MustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	return abs
}

// FetchesBeyond returns the URLs other than the page's own file.
func FetchesBeyond(urls []string, file string) []string {
	abs, _ := filepath.Abs(file)
	var out []string
	for _, u := range urls {
		if u != (&url.URL{Scheme: "file", Path: abs}).String() {
			out = append(out, u)
		}
	}
	return out
}

func Screenshot(t *testing.T, ctx context.Context, id string) image.Image {
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

// Blend is c at opacity alpha over white, as a browser paints it.
func Blend(c color.NRGBA) color.Color {
	a := float64(c.A) / 255
	mix := func(v uint8) uint8 { return uint8(float64(v)*a + 255*(1-a) + 0.5) }
	return color.NRGBA{R: mix(c.R), G: mix(c.G), B: mix(c.B), A: 0xFF}
}

// CheckChart says what is wrong with a chart's screenshot, or nil.
func CheckChart(img image.Image, want []color.Color) error {
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

// KeepScreenshot saves a failed chart's screenshot for debugging and
// returns its path.
func KeepScreenshot(t *testing.T, id string, img image.Image) string {
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

// SVGElement is an inline chart; its first group is the chart's id.
var SVGElement = regexp.MustCompile(`(?s)<svg id="([^"]+)".*?</svg>`)

var styleElement = regexp.MustCompile(`(?s)<style>.*?</style>`)

// Skeleton replaces every inline chart, and the style sheet, by a
// placeholder: the golden files hold the page's text and structure; the
// charts are checked on their own (and drawn by a browser in
// TestHTMLChartsInBrowser).
func Skeleton(page string) string {
	page = styleElement.ReplaceAllString(page, `<style>…</style>`)
	return SVGElement.ReplaceAllString(page, `<svg id="$1">…</svg>`)
}

// Charts returns each inline chart by id.
func Charts(page string) map[string]string {
	out := map[string]string{}
	for _, m := range SVGElement.FindAllStringSubmatch(page, -1) {
		out[strings.TrimSuffix(m[1], "-svg")] = m[0]
	}
	return out
}

// ExternalRefs lists what in a page could make a browser fetch something:
// attributes that load a resource, CSS imports and urls, scripts, links,
// and any absolute URL other than the SVG namespaces.
func ExternalRefs(page string) []string {
	var out []string
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<[a-z][^>]*\s(src|href|xlink:href|srcset|poster|data|action|background)\s*=\s*["']?[^"'\s>]*`),
		regexp.MustCompile(`(?i)url\(`),
		regexp.MustCompile(`(?i)@import`),
		regexp.MustCompile(`(?i)<(script|link|iframe|object|embed|img|video|audio|source)\b`),
		regexp.MustCompile(`(?i)(https?|ftp|wss?)://[^"'\s<>)]*`),
	} {
		for _, m := range re.FindAllString(page, -1) {
			if m == "http://www.w3.org/2000/svg" || m == "http://www.w3.org/1999/xlink" {
				continue
			}
			out = append(out, strings.TrimSpace(m))
		}
	}
	return out
}

// Golden compares got with the golden file at path, or rewrites it when
// update is set (each package's -update flag); rewrite says how to.
func Golden(t *testing.T, path, got string, update bool, rewrite string) {
	t.Helper()
	if update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "%s creates the golden files", rewrite)
	assert.Equal(t, string(want), got, "%s differs from the golden file (%s rewrites it)", filepath.Base(path), rewrite)
}
