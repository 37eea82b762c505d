package check

import (
	"fmt"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// This file holds what the checkers share to report what they found: a
// latency histogram, figure names and capped detail lines.

// latencyHist records durations in microseconds, 1µs to one hour, with three
// significant digits (HDR histogram); longer durations are clamped.
type latencyHist struct{ h *hdrhistogram.Histogram }

const latencyHistMax = int64(time.Hour / time.Microsecond)

func newLatencyHist() *latencyHist {
	return &latencyHist{h: hdrhistogram.New(1, latencyHistMax, 3)}
}

func (l *latencyHist) record(d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1
	}
	if us > latencyHistMax {
		us = latencyHistMax
	}
	_ = l.h.RecordValue(us) // in range by construction
}

func (l *latencyHist) count() int64 { return l.h.TotalCount() }

// quantile returns the value at percentile p (0-100).
func (l *latencyHist) quantile(p float64) time.Duration {
	return time.Duration(l.h.ValueAtQuantile(p)) * time.Microsecond
}

// label renders an empty name as "-" for reasons and figure names.
func label(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// figureName joins parts of a figure name with dots.
func figureName(parts ...string) string {
	for i, p := range parts {
		parts[i] = label(p)
	}
	return strings.Join(parts, ".")
}

// capDetails keeps at most n detail lines, noting how many were left out.
func capDetails(lines []string, n int) []string {
	if len(lines) <= n {
		return lines
	}
	out := append([]string(nil), lines[:n]...)
	return append(out, fmt.Sprintf("... and %d more", len(lines)-n))
}

// ms renders a duration in milliseconds for figures.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// maxDetails bounds the detail lines a checker reports.
const maxDetails = 20

// lines collects offender lines, keeping the first few and counting all, so
// that a history with a million offenders does not build a million strings.
type lines struct {
	keep  []string
	total int
}

func (l *lines) add(format string, args ...any) {
	l.total++
	if len(l.keep) < maxDetails {
		l.keep = append(l.keep, fmt.Sprintf(format, args...))
	}
}

// first returns up to n kept lines, noting how many more there are.
func (l *lines) first(n int) []string {
	out := append([]string(nil), l.keep[:min(n, len(l.keep))]...)
	if l.total > len(out) {
		out = append(out, fmt.Sprintf("and %d more", l.total-len(out)))
	}
	return out
}

// details returns the kept lines, noting how many were left out.
func (l *lines) details() []string { return l.first(maxDetails) }
