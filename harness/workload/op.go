package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/harness/history"
)

// workloadOutcome classifies an operation's completion (the Type of the
// completion record).
//
// OK: the request was answered 2xx; for reads (read-profile, read-history)
// also 404, a valid answer ("no profile yet", Version 0).
//
// Fail: the operation certainly did not happen.
//
//   - Reads: every outcome but the above. A read changes nothing, so a read
//     that was refused or not answered did not happen, whatever the cause
//     (4xx, 5xx, timeout, connection reset).
//   - Writes with an answer that proves nothing was written: any 4xx (the
//     service refused the request before writing: bad body, unknown path)
//     and a 3xx that was not followed (a second redirect), both answered
//     without writing; a shed answer (X-Kong-Shed: 1, the 503 above the
//     maximum traffic level, refused at the edge with no member touched,
//     also when a peer gateway shed it behind the isthmus); 508 Loop
//     Detected (the gateway refused to proxy again); a gateway's 502 whose
//     error names dial failures only (the isthmus link or every member
//     instance refused the connection, so the request never left the
//     gateway: an isthmus link that is down); a member's 503 "injected
//     dependency error" (the fault hook runs before the handler).
//   - Writes without an answer whose request was never completely written
//     to a connection (dial failure, connection refused): the server
//     cannot have acted on it.
//
// Info: the outcome of a write is unknown. The request was sent, then timed
// out or lost its connection before an answer (the per-request timeout, a
// reset, the run stopped while it was in flight: Error says "abandoned"), or
// it was answered with any other 5xx: 504 (the gateway gave up waiting),
// 500, a member's 503 after a Cassandra error (a LOCAL_QUORUM write that
// timed out may still be applied), a 502 after a connection broke
// mid-request.
//
// Whatever is not positively known to have been refused is Info, so a
// refinement that stops matching (say, an error text that changed) errs on
// the safe side.
func workloadOutcome(write bool, status int, shed bool, body string, sent bool, transportErr error) history.OpType {
	if transportErr != nil {
		if !write || !sent {
			return history.Fail
		}
		return history.Info
	}
	switch {
	case status >= 200 && status < 300:
		return history.OK
	case !write && status == http.StatusNotFound:
		return history.OK
	case !write:
		return history.Fail
	case shed:
		return history.Fail
	case status >= 300 && status < 500:
		return history.Fail
	case status == http.StatusLoopDetected:
		return history.Fail
	case status == http.StatusBadGateway && onlyDialFailures(body):
		return history.Fail
	case status == http.StatusServiceUnavailable && strings.Contains(body, "injected dependency error"):
		return history.Fail
	}
	return history.Info
}

// onlyDialFailures reports whether a gateway's 502 text blames connection
// set-up alone ("dial tcp ...: connection refused") and nothing that could
// happen after the request was sent.
func onlyDialFailures(body string) bool {
	if !strings.Contains(body, "dial ") {
		return false
	}
	for _, s := range []string{"EOF", "reset", "broken pipe", "read tcp", "write tcp", "timeout awaiting", "closed"} {
		if strings.Contains(body, s) {
			return false
		}
	}
	return true
}

// execute runs one operation and records its invoke and completion.
func (w *Workload) execute(j workloadJob) {
	st := w.stats
	begin := time.Now()
	st.startedOp(begin.Sub(j.intended))
	st.inFlight.Add(1)
	defer st.inFlight.Add(-1)

	s := j.sess
	m := s.Member
	name := workloadOps[j.kind]
	key := "profile/" + m.ID
	if j.kind >= 2 {
		key = "history/" + m.ID
	}
	inv := history.Op{Type: history.Invoke, Time: begin, Process: w.cfg.ProcessBase + s.Index, Op: name,
		Member: m.ID, Key: key, Session: s.ID, Home: m.Geo, Phase: w.Phase()}
	region, gateway, rerr := w.route(w.reqCtx, s)
	inv.Entry = region
	// Seq is taken and the invoke written under the session's lock, so that
	// a session's invokes reach the history in Seq order even when two of
	// its operations overlap.
	s.mu.Lock()
	inv.Seq = s.seq.Add(1)
	if w.cfg.History != nil {
		w.cfg.History.Op(inv)
	}
	s.mu.Unlock()
	done := inv
	if rerr != nil {
		done.Type, done.Error = history.Fail, rerr.Error()
	} else {
		w.call(&done, j, gateway)
	}
	done.Time = time.Now()
	done.Latency = done.Time.Sub(j.intended)
	if w.cfg.History != nil {
		w.cfg.History.Op(done)
	}
	st.completed(&done)
}

// call sends the operation to the session's gateway, follows one redirect,
// and fills the completion's result fields.
func (w *Workload) call(done *history.Op, j workloadJob, gateway string) {
	m := j.sess.Member
	write := j.kind == 1 || j.kind == 2
	var method, suffix string
	var body []byte
	switch j.kind {
	case 0:
		method, suffix = http.MethodGet, "/profile"
	case 1:
		method, suffix = http.MethodPut, "/profile"
		body, _ = json.Marshal(struct {
			Name string `json:"name"`
			Plan string `json:"plan"`
		}{Name: "Member " + m.ID, Plan: workloadPlans[j.arg%uint32(len(workloadPlans))]})
	case 2:
		method, suffix = http.MethodPost, "/history"
		body, _ = json.Marshal(struct {
			Title string `json:"title"`
		}{Title: "title-" + strconv.FormatUint(uint64(j.arg%100000), 10)})
	default:
		method, suffix = http.MethodGet, "/history"
	}
	u := strings.TrimRight(gateway, "/") + "/v1/members/" + url.PathEscape(m.ID) + suffix

	for attempt := 0; ; attempt++ {
		a := w.attempt(method, u, body, j.sess)
		if a.err != nil {
			j.sess.markStale()
			done.Type = workloadOutcome(write, 0, false, "", a.sent, a.err)
			done.Error = a.describe()
			return
		}
		if (a.status == http.StatusTemporaryRedirect || a.status == http.StatusPermanentRedirect) && attempt == 0 {
			if loc := a.header.Get("Location"); loc != "" {
				if next, err := url.Parse(u); err == nil {
					if to, err := next.Parse(loc); err == nil {
						j.sess.markStale()
						done.Redirected = true
						u = to.String()
						continue
					}
				}
			}
		}
		h := a.header
		done.Status = a.status
		done.Region = h.Get(app.HeaderRegion)
		done.Zone = h.Get(app.HeaderZone)
		done.Instance = h.Get(app.HeaderInstance)
		if v := h.Get(app.HeaderVersion); v != "" {
			done.Version, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
		done.CacheHit = h.Get(app.HeaderCache) == "hit"
		done.Shed = h.Get(app.HeaderShed) == "1"
		first := true
		for _, line := range h.Values(app.HeaderRoute) {
			for _, r := range strings.Split(line, ",") {
				r = strings.TrimSpace(r)
				if first && r == app.RouteIsthmus {
					done.Proxied = true
				}
				if r == app.RouteFailover {
					done.Failover = true
				}
				first = false
			}
		}
		done.Type = workloadOutcome(write, a.status, done.Shed, a.body, true, nil)
		if done.Type != history.OK {
			done.Error = fmt.Sprintf("HTTP %d", a.status)
			if done.Shed {
				done.Error += " shed"
			}
			if t := firstLine(a.body, 300); t != "" {
				done.Error += ": " + t
			}
		}
		return
	}
}

var workloadPlans = [...]string{"basic", "standard", "premium"}

// attemptResult is one HTTP exchange: an answer (status, header, and the
// start of the body of a non-2xx answer) or a transport error, with whether
// the request was completely written.
type attemptResult struct {
	status  int
	header  http.Header
	body    string
	sent    bool
	err     error
	aborted bool
	timeout time.Duration
}

func (a attemptResult) describe() string {
	what := "no answer, request not sent"
	if a.sent {
		what = "no answer to a sent request"
	}
	if a.aborted {
		what = "abandoned at stop (" + what + ")"
	} else if errors.Is(a.err, context.DeadlineExceeded) {
		what += fmt.Sprintf(" (timeout %s)", a.timeout)
	}
	return what + ": " + a.err.Error()
}

// maxErrorBody is how much of a non-2xx answer is kept for Op.Error;
// maxDrain how much of any answer is read so its connection can be reused.
const (
	maxErrorBody = 512
	maxDrain     = 1 << 20
)

func (w *Workload) attempt(method, u string, body []byte, s *DeviceSession) (a attemptResult) {
	ctx, cancel := context.WithTimeout(w.reqCtx, w.cfg.RequestTimeout)
	defer cancel()
	a.timeout = w.cfg.RequestTimeout
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		a.err = err
		return a
	}
	req.Header.Set(app.HeaderGeo, s.Member.Geo)
	req.Header.Set(app.HeaderSession, s.ID)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	a.sent = wrote.Load()
	if err != nil {
		a.err = err
		a.aborted = w.stats.abandoning.Load() && w.reqCtx.Err() != nil
		return a
	}
	defer resp.Body.Close()
	a.status, a.header = resp.StatusCode, resp.Header
	if a.status < 200 || a.status >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		a.body = string(b)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	return a
}

// firstLine returns s up to its first line break, trimmed and cut to n bytes.
func firstLine(s string, n int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
