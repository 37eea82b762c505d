package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/procfs"

	"github.com/kongchaos/kong/app"
	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
)

// Control API: the owner of a world (the `kong serve world` daemon) serves it
// on the world's loopback service address so that other processes (`kong run`,
// `kong kill ...`) can start and stop its components.

// ServeControl serves the world's control API until ctx ends.
func (w *World) ServeControl(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/components", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(w.statuses())
	})
	mux.HandleFunc("POST /v1/{action}", func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		if w.closing {
			w.mu.Unlock()
			http.Error(rw, "world "+w.name+" is going down", http.StatusServiceUnavailable)
			return
		}
		w.inflight.Add(1)
		w.mu.Unlock()
		defer w.inflight.Done()
		id := r.URL.Query().Get("id")
		var err error
		switch r.PathValue("action") {
		case "start":
			err = w.Start(r.Context(), id)
		case "stop":
			err = w.Stop(r.Context(), id)
		case "kill":
			err = w.Kill(r.Context(), id)
		case "pause":
			err = w.Pause(r.Context(), id)
		case "resume":
			err = w.Resume(r.Context(), id)
		case "deploy":
			var rel member.Release
			if err = json.NewDecoder(r.Body).Decode(&rel); err != nil {
				http.Error(rw, "deploy: the body is not a release: "+err.Error(), http.StatusBadRequest)
				return
			}
			err = w.Deploy(r.Context(), id, rel)
		default:
			http.Error(rw, "unknown action "+r.PathValue("action"), http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(rw, err.Error(), http.StatusConflict)
			return
		}
		_ = w.saveState("", "")
		rw.WriteHeader(http.StatusNoContent)
	})
	l, err := net.Listen("tcp", w.Plan().Control)
	if err != nil {
		return fmt.Errorf("control API of world %s: %w", w.name, err)
	}
	w.mu.Lock()
	w.control = w.Plan().Control
	w.mu.Unlock()
	_ = w.saveState("", "")
	srv := &http.Server{Handler: app.RequireSecret(w.secret, http.MaxBytesHandler(mux, 1<<16)), ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout: time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// Remote is a world owned by another process, found from its state folder
// and driven through its control API. It implements topology.Cluster.
type Remote struct {
	// PlanAddrs is the world's address plan; it answers the Cluster
	// methods that follow from it.
	topology.PlanAddrs
	home   string
	secret string
	state  atomic.Pointer[State] // as last read: Components reads it again
	http   *http.Client
}

var _ topology.Cluster = (*Remote)(nil)

// Attach finds a running world by name.
func Attach(home, name string) (*Remote, error) {
	st, err := ReadState(home, name)
	if err != nil {
		return nil, err
	}
	if !ownerAlive(st.Dir) {
		return nil, fmt.Errorf("world %s has no live owner (it crashed?): run `kong down --world %s`, then `kong up`", name, name)
	}
	plan, err := topology.NewPlan(st.Spec, st.Slot)
	if err != nil {
		return nil, err
	}
	secret, err := ReadSecret(home, name)
	if err != nil {
		return nil, err
	}
	r := &Remote{PlanAddrs: topology.PlanAddrs{Plan: plan}, home: home, secret: secret, http: &http.Client{Timeout: 11 * time.Minute}}
	r.state.Store(st)
	return r, nil
}

// State is the world's state as last read.
func (r *Remote) State() *State { return r.state.Load() }

// Plan is the world's address plan.
func (r *Remote) Plan() *topology.Plan { return r.PlanAddrs.Plan }

// Name implements topology.Cluster.
func (r *Remote) Name() string { return r.State().World }

// Spec implements topology.Cluster.
func (r *Remote) Spec() *topology.Spec { return r.State().Spec }

// Components implements topology.Cluster, from the pids the owner's state
// file records now: a component restarted since the world was attached
// (kong start, a fault's recovery) runs under a new pid.
func (r *Remote) Components(context.Context) ([]topology.Status, error) {
	st := r.State()
	if now, err := ReadState(r.home, st.World); err == nil && now.Dir == st.Dir {
		st = now
		r.state.Store(st)
	}
	out := make([]topology.Status, len(st.Components))
	for i, c := range st.Components {
		c.State = processState(c.PID, st.Dir)
		if c.State == topology.StateStopped {
			c.PID = 0
		}
		out[i] = c
	}
	return out, nil
}

// processState reads a process's state from /proc: paused only when every
// thread is stopped (a group stop reaches the threads one by one, and a
// thread not yet stopped still serves requests).
func processState(pid int, dir string) topology.State {
	if !belongsTo(pid, dir) {
		return topology.StateStopped
	}
	leader, err := procfs.NewProc(pid)
	if err != nil {
		return topology.StateStopped
	}
	if st := taskState(leader); st == "Z" || st == "X" || st == "" {
		return topology.StateStopped
	}
	threads, err := procfs.AllThreads(pid)
	if err != nil || len(threads) == 0 {
		threads = procfs.Procs{leader}
	}
	for _, t := range threads {
		switch taskState(t) {
		case "T", "t", "": // "": the thread just exited
		default:
			return topology.StateRunning
		}
	}
	return topology.StatePaused
}

// taskState is the state letter of a process or thread, "" if unreadable.
func taskState(p procfs.Proc) string {
	st, err := p.Stat()
	if err != nil {
		return ""
	}
	return st.State
}

func (r *Remote) do(ctx context.Context, action, id string) error {
	return r.post(ctx, action, id, nil)
}

// post asks the owner to act on component id, with body (JSON) when not
// nil.
func (r *Remote) post(ctx context.Context, action, id string, body any) error {
	st := r.State()
	if st.Control == "" {
		if st.Status == "starting" {
			return fmt.Errorf("world %s is still starting (phase %s): wait for `kong up` to finish", st.World, st.Phase)
		}
		return fmt.Errorf("world %s has no control API: its owner (pid %d) is a program such as a test, not `kong up`; it drives the world itself", st.World, st.OwnerPID)
	}
	u := "http://" + st.Control + "/v1/" + action + "?id=" + url.QueryEscape(id)
	var payload io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, payload)
	if err != nil {
		return err
	}
	req.Header.Set(app.SecretHeader, "Bearer "+r.secret)
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s", action, id, strings.TrimSpace(string(body)))
	}
	return nil
}

// Start implements topology.Cluster.
func (r *Remote) Start(ctx context.Context, id string) error { return r.do(ctx, "start", id) }

// Stop implements topology.Cluster.
func (r *Remote) Stop(ctx context.Context, id string) error { return r.do(ctx, "stop", id) }

// Kill implements topology.Cluster.
func (r *Remote) Kill(ctx context.Context, id string) error { return r.do(ctx, "kill", id) }

// Pause implements topology.Cluster.
func (r *Remote) Pause(ctx context.Context, id string) error { return r.do(ctx, "pause", id) }

// Resume implements topology.Cluster.
func (r *Remote) Resume(ctx context.Context, id string) error { return r.do(ctx, "resume", id) }

// Deploy restarts member service instance id on release rel (see
// World.Deploy), through the owner.
func (r *Remote) Deploy(ctx context.Context, id string, rel member.Release) error {
	return r.post(ctx, "deploy", id, rel)
}

// Secret implements topology.Cluster.
func (r *Remote) Secret() string { return r.secret }

// Health dials a component's address: the cheapest sign that it answers.
func Health(ctx context.Context, c topology.Status) string {
	if c.State != topology.StateRunning {
		return string(c.State)
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", c.Address)
	if err != nil {
		return "not answering"
	}
	conn.Close()
	return "ok"
}
