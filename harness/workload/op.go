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

// completion is what an operation's outcome is judged by: the answer's
// status, whether it was shed and the start of its body, or the transport
// error when there was no answer and whether the request was sent whole.
type completion struct {
	write, shed, sent bool
	status            int
	body              string
	err               error
}

// outcomeRule is one row of the decision table below.
type outcomeRule struct {
	match func(c completion) bool
	typ   history.OpType
	why   string
}

// outcomeRules classify an operation's completion; the first rule that
// matches gives its type. OK: it happened; Fail: it certainly did not;
// Info: a write that may or may not have happened.
var outcomeRules = []outcomeRule{
	{func(c completion) bool { return c.err != nil && (!c.write || !c.sent) }, history.Fail,
		"no answer to a read, or to a write never completely sent (dial failure, connection refused): nothing was done"},
	{func(c completion) bool { return c.err != nil }, history.Info,
		"a sent write that timed out, lost its connection or was abandoned at stop may have been applied"},
	{func(c completion) bool { return c.status >= 200 && c.status < 300 }, history.OK, "answered 2xx"},
	{func(c completion) bool { return !c.write && c.status == http.StatusNotFound }, history.OK,
		`a read's 404 is a valid answer ("no profile yet", Version 0)`},
	{func(c completion) bool { return !c.write }, history.Fail, "a read changes nothing: refused, it did not happen (4xx, 5xx)"},
	{func(c completion) bool { return c.shed }, history.Fail,
		"shed (X-Kong-Shed: 1): refused at the edge with no member touched, also by a peer gateway behind the isthmus"},
	{func(c completion) bool { return c.status >= 300 && c.status < 500 }, history.Fail,
		"a 4xx was refused before writing, and a 3xx not followed (a second redirect) wrote nothing"},
	{func(c completion) bool { return c.status == http.StatusLoopDetected }, history.Fail, "508: the gateway refused to proxy again"},
	{func(c completion) bool { return c.status == http.StatusBadGateway && onlyDialFailures(c.body) }, history.Fail,
		"a gateway's 502 naming dial failures only: the request never left the gateway (an isthmus link down)"},
	{func(c completion) bool {
		return c.status == http.StatusServiceUnavailable && strings.Contains(c.body, "injected dependency error")
	}, history.Fail, "a member's injected dependency error: the fault hook runs before the handler"},
}

// workloadOutcome classifies an operation's completion (the Type of the
// completion record) by outcomeRules. What no rule matches is Info (any
// other 5xx: 504, 500, a member's 503 after a Cassandra error, a 502 after
// a connection broke mid-request): whatever is not positively known to
// have been refused is Info, so a rule that stops matching (say, an error
// text that changed) errs on the safe side.
func workloadOutcome(write bool, status int, shed bool, body string, sent bool, transportErr error) history.OpType {
	c := completion{write: write, shed: shed, sent: sent, status: status, body: body, err: transportErr}
	for _, r := range outcomeRules {
		if r.match(c) {
			return r.typ
		}
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
		Member: m.ID, Key: key, Session: s.ID, Home: m.Geo, Due: j.intended, Phase: w.Phase()}
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
		method, suffix = http.MethodGet, app.ResourceProfile
	case 1:
		method, suffix = http.MethodPut, app.ResourceProfile
		body, _ = json.Marshal(app.ProfileWrite{Name: "Member " + m.ID, Plan: workloadPlans[j.arg%uint32(len(workloadPlans))]})
	case 2:
		method, suffix = http.MethodPost, app.ResourceHistory
		body, _ = json.Marshal(app.HistoryWrite{Title: "title-" + strconv.FormatUint(uint64(j.arg%100000), 10)})
	default:
		method, suffix = http.MethodGet, app.ResourceHistory
	}
	u := strings.TrimRight(gateway, "/") + app.MemberPath(m.ID, suffix)

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
