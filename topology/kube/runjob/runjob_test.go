package runjob

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/internal/syncbuf"
)

// The pod side of a run Job: the command's output and exit status come
// out, marked; the reports are held until released, or until the hold
// passes.
func TestJobSideRunsHoldsAndReleases(t *testing.T) {
	dir := t.TempDir()
	out := &syncbuf.Buffer{}
	j := Side{Command: []string{"sh", "-c", "echo ran; echo x > " + dir + "/r.txt; exit 3"}, Reports: dir, Marker: "M1",
		Hold: time.Minute, Out: out, Every: 20 * time.Millisecond}
	done := make(chan int, 1)
	go func() {
		code, err := j.Run(context.Background())
		require.NoError(t, err)
		done <- code
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "M1 exit 3") }, 10*time.Second, 10*time.Millisecond)
	require.Contains(t, out.String(), "ran\n")
	select {
	case <-done:
		t.Fatal("the pod ended before its reports were fetched")
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, Release(dir))
	select {
	case code := <-done:
		require.Equal(t, 3, code)
	case <-time.After(5 * time.Second):
		t.Fatal("a release did not end the hold")
	}

	// Nobody fetches: the hold ends it.
	out = &syncbuf.Buffer{}
	j = Side{Command: []string{"true"}, Reports: t.TempDir(), Marker: "M2", Hold: 100 * time.Millisecond, Out: out, Every: 20 * time.Millisecond}
	code, err := j.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 0, code)
	require.Contains(t, out.String(), "nobody fetched the reports within 100ms")
}

// A stop request, and the pod's own SIGTERM, reach the command as
// SIGTERM; its status says so.
func TestJobSideStops(t *testing.T) {
	dir := t.TempDir()
	out := &syncbuf.Buffer{}
	j := Side{Command: []string{"sleep", "30"}, Reports: dir, Marker: "M", Hold: time.Minute, Out: out, Every: 20 * time.Millisecond}
	done := make(chan int, 1)
	go func() {
		code, err := j.Run(context.Background())
		require.NoError(t, err)
		done <- code
	}()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, RequestStop(dir))
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "M exit 143") }, 10*time.Second, 10*time.Millisecond, out.String())
	require.NoError(t, Release(dir))
	require.Equal(t, 143, <-done)

	ctx, cancel := context.WithCancel(context.Background())
	j.Reports = t.TempDir()
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	start := time.Now()
	code, err := j.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, 143, code)
	require.Less(t, time.Since(start), 10*time.Second, "SIGTERM ends the hold too")

	_, err = Side{Command: []string{filepath.Join(t.TempDir(), "nothing")}, Reports: t.TempDir(), Out: io.Discard}.Run(context.Background())
	require.ErrorContains(t, err, "starting")
}

func TestMarkerExit(t *testing.T) {
	code, ok := MarkerExit("kong-job-ab exit 2\n", "kong-job-ab")
	require.True(t, ok)
	require.Equal(t, 2, code)
	for _, line := range []string{"kong-job-ab exit", "kong-job-ac exit 2", "say kong-job-ab exit 2", "kong-job-ab exit two"} {
		_, ok := MarkerExit(line, "kong-job-ab")
		require.False(t, ok, line)
	}
	_, ok = MarkerExit(" exit 0", "")
	require.False(t, ok, "no marker matches nothing")
}

// The reports go out as tar and come back whole, without the Job's own
// files.
func TestReportsTarRoundTrip(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "run-1", "logs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "run-1", "report.md"), []byte("# report"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "run-1", "logs", "a.log"), []byte("log"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "index.html"), []byte("<html>"), 0o644))
	require.NoError(t, RequestStop(src))
	require.NoError(t, Release(src))
	var b bytes.Buffer
	require.NoError(t, WriteTar(&b, src))

	dst := filepath.Join(t.TempDir(), "kong-reports")
	top, err := ExtractTar(&b, dst)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"run-1", "index.html"}, top)
	got, err := os.ReadFile(filepath.Join(dst, "run-1", "logs", "a.log"))
	require.NoError(t, err)
	require.Equal(t, "log", string(got))
	require.NoFileExists(t, filepath.Join(dst, StopFile))
	require.NoFileExists(t, filepath.Join(dst, FetchedFile))
}

// Reports from a pod never land outside their folder: names outside it,
// links, devices and paths through a symbolic link are refused.
func TestExtractTarRefusesWhatLandsOutside(t *testing.T) {
	outside := t.TempDir()
	entry := func(h *tar.Header, body string) []byte {
		var b bytes.Buffer
		w := tar.NewWriter(&b)
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		h.Mode = 0o644
		require.NoError(t, w.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := w.Write([]byte(body))
			require.NoError(t, err)
		}
		require.NoError(t, w.Close())
		return b.Bytes()
	}
	dst := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dst, "link")))
	for name, h := range map[string]*tar.Header{
		"dotdot":   {Name: "../escape.txt", Typeflag: tar.TypeReg},
		"absolute": {Name: filepath.Join(outside, "abs.txt"), Typeflag: tar.TypeReg},
		"symlink":  {Name: "s", Typeflag: tar.TypeSymlink, Linkname: outside},
		"device":   {Name: "d", Typeflag: tar.TypeChar},
		"through":  {Name: "link/x.txt", Typeflag: tar.TypeReg},
	} {
		_, err := ExtractTar(bytes.NewReader(entry(h, "x")), dst)
		require.Error(t, err, name)
	}
	left, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Empty(t, left, "nothing was written outside")
}
