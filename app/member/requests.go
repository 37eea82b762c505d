package member

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/kongchaos/kong/app"
)

// RequestSample is one user request as this instance served it: when it
// arrived, how long it took to answer, and the status it answered (0 when
// the caller gave up before an answer).
type RequestSample struct {
	At        time.Time `json:"at"`
	Op        string    `json:"op"`
	Status    int       `json:"status"`
	LatencyMS float64   `json:"latency_ms"`
}

// Failed says whether the request failed on the service's side: a 5xx, or
// no answer at all.
func (r RequestSample) Failed() bool { return r.Status == 0 || r.Status >= 500 }

// RequestsReport is the body of GET /admin/requests: the instance's recent
// requests, the metrics a canary analysis compares between instances.
type RequestsReport struct {
	Instance string          `json:"instance"`
	Version  string          `json:"version"`
	Since    time.Time       `json:"since"`
	Samples  []RequestSample `json:"samples"`
	// Overwritten says that requests after Since were served but are no
	// longer kept: the window holds more than RequestLogSize requests.
	Overwritten bool `json:"overwritten,omitempty"`
}

// RequestLogSize is how many recent requests an instance keeps.
const RequestLogSize = 1 << 15

// requestLog is a ring of the most recent requests.
type requestLog struct {
	mu   sync.Mutex
	ring []RequestSample
	next int // where the next sample goes
	full bool
}

func (l *requestLog) add(s RequestSample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ring == nil {
		l.ring = make([]RequestSample, RequestLogSize)
	}
	l.ring[l.next] = s
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
}

// since returns the kept requests that arrived at or after t, oldest
// first, and whether older ones after t were already overwritten.
func (l *requestLog) since(t time.Time) ([]RequestSample, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ordered []RequestSample
	if l.full {
		ordered = append(ordered, l.ring[l.next:]...)
	}
	ordered = append(ordered, l.ring[:l.next]...)
	out := []RequestSample{}
	for _, s := range ordered {
		if !s.At.Before(t) {
			out = append(out, s)
		}
	}
	overwritten := l.full && len(ordered) > 0 && ordered[0].At.After(t)
	return out, overwritten
}

// Requests is GET /admin/requests: the requests this instance served since
// t (all it keeps when t is zero).
func (a AdminClient) Requests(ctx context.Context, since time.Time) (RequestsReport, error) {
	path := "/admin/requests"
	if !since.IsZero() {
		path += "?since=" + url.QueryEscape(since.UTC().Format(time.RFC3339Nano))
	}
	return app.Call[RequestsReport](ctx, a.c, http.MethodGet, path, nil)
}

func (s *Service) requestsReport(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, &httpError{http.StatusBadRequest, "since: " + err.Error() + ": send an RFC 3339 time such as 2026-12-05T01:00:00Z"})
			return
		}
		since = t
	}
	samples, overwritten := s.requests.since(since)
	writeJSON(w, http.StatusOK, RequestsReport{
		Instance: s.cfg.Instance, Version: s.cfg.Release.Version, Since: since,
		Samples: samples, Overwritten: overwritten,
	})
}
