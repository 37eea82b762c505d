// Package history is what a run records: operations and timeline events,
// the recorder that appends them to history.jsonl, the index that pairs
// invokes with completions, the phases, and the names of the files in a run's
// folder. It is the source of truth that checkers and reports read after the
// run, and it imports nothing else of kong.
package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// OpType is the kind of history record, as in Jepsen: an invocation, then
// its completion as ok (it happened), fail (it certainly did not) or info
// (unknown: a timeout, a dropped connection).
type OpType string

const (
	Invoke OpType = "invoke"
	OK     OpType = "ok"
	Fail   OpType = "fail"
	Info   OpType = "info"
)

// Operation names.
const (
	OpReadProfile   = "read-profile"
	OpWriteProfile  = "write-profile"
	OpAppendHistory = "append-history"
	OpReadHistory   = "read-history"
	// OpProbe is a read-back made after convergence to check what survived.
	OpProbe = "probe"
)

// Op is one line of a history: a user's request as invoked or as completed.
type Op struct {
	Type OpType    `json:"type"`
	Time time.Time `json:"time"`
	// Process is the simulated client (one device session) that issued it;
	// an invoke and its completion share Process and Seq.
	Process int    `json:"process"`
	Seq     uint64 `json:"seq"`
	Op      string `json:"op"`
	Member  string `json:"member,omitempty"`
	Key     string `json:"key,omitempty"`
	Session string `json:"session,omitempty"`
	// Home is the member's home region; Region is the region that served the
	// request (after any redirect or proxying), with its Zone and Instance.
	Home     string `json:"home,omitempty"`
	Region   string `json:"region,omitempty"`
	Zone     string `json:"zone,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Entry is the region the client was sent to by the director.
	Entry string `json:"entry,omitempty"`
	// Version is the write timestamp written (for writes) or returned (reads).
	Version    int64  `json:"version,omitempty"`
	Proxied    bool   `json:"proxied,omitempty"`
	Redirected bool   `json:"redirected,omitempty"`
	Failover   bool   `json:"failover,omitempty"`
	Shed       bool   `json:"shed,omitempty"`
	CacheHit   bool   `json:"cache_hit,omitempty"`
	Status     int    `json:"status,omitempty"`
	Error      string `json:"error,omitempty"`
	// Latency is corrected for coordinated omission: measured from when the
	// request was due by the pacer (Due), not from when it was sent.
	Latency time.Duration `json:"latency,omitempty"`
	// Entries, for a probe of a viewing history, are the versions of the
	// entries it showed (each entry's write timestamp), newest first: every
	// acknowledged append is looked for among them. EntriesCut says the
	// service showed only its page of newest entries and more may exist.
	Entries    []int64 `json:"entries,omitempty"`
	EntriesCut bool    `json:"entries_cut,omitempty"`
	// Due is when the pacer scheduled the request (its intended time); a
	// generator that fell behind sends it later, at Time. Zero when the
	// request had no schedule (probes).
	Due time.Time `json:"due,omitzero"`
	// Phase is the scenario phase during which the operation was invoked
	// (Index.PhaseOf attributes it to the phase of Due instead).
	Phase string `json:"phase,omitempty"`
	// Source, for a probe, is what it read in Region: "" through the
	// region's gateway, as a user at home there would; SourceStore the
	// region's Cassandra at LOCAL_QUORUM; SourceCache+zone one zone's
	// cache (CacheHit says whether it held a value; a miss or an
	// invalidation's tombstone holds none).
	Source string `json:"source,omitempty"`
}

// Sources of a probe (Op.Source) other than the gateway.
const (
	SourceStore = "store"
	SourceCache = "cache:"
)

// EventKind is the kind of a timeline event.
type EventKind string

const (
	PhaseStart   EventKind = "phase"
	FaultInject  EventKind = "inject"
	FaultEffect  EventKind = "injected" // the fault was seen to take effect
	FaultRecover EventKind = "recover"
	FaultHealed  EventKind = "recovered" // the recovery was seen to take effect
	TrafficShift EventKind = "traffic"   // director weights or gateway mode changed
	Abort        EventKind = "abort"
	Note         EventKind = "note"
)

// Names of the Note events a watched partition records (see
// measured.WatchPartition): when the two sides were seen to diverge, and when
// they converged again.
const (
	EventIsolation = "split-isolation"
	EventConverged = "split-converged"
)

// EventDataTier names the Note events of a data-tier sample (see
// measured.Surge): Target is the region, Detail["cassandra_ops"] the sum of
// the Cassandra queries its member services had sent since they started,
// and Detail["members"] how many answered (a sample is recorded only when
// all did).
const EventDataTier = "data-tier"

// EventRepair names the Note event of a repair the run ran after the
// convergence and before the read-back (fault.Repairs): Target is the
// fault's target; Detail["fault"] the fault, Detail["repaired"] the
// Cassandra nodes repaired (comma-separated), Detail["took"] how long, and
// Detail["error"] why it failed, when it did.
const EventRepair = "repair"

// Names of the Note events a rollout of the member service records (see
// deploy.Pipeline). Detail["version"] is the version concerned:
//   - EventDeployStage: a stage begins; Target its region, Detail["stage"]
//     and Detail["instances"] (comma-separated);
//   - EventDeployInstance: an instance restarted on the version; Target the
//     instance, Detail["region"], Detail["stage"] ("rollback" in a
//     rollback) and Detail["error"] when it did not serve it;
//   - EventCanaryJudgement: the canary analysis; Target the region,
//     Detail["verdict"], ["score"], ["reason"], ["canary"], ["baseline"];
//   - EventDeployRollback: a rollback begins, to Detail["version"], of
//     Detail["instances"], for Detail["reason"];
//   - EventDeployDone: the rollout ended; Detail["decision"] (promoted,
//     rolled-back, interrupted), ["reason"], and after a rollback
//     ["rollback"] (its duration) and ["stuck"] (instances it could not
//     move back).
const (
	EventDeployStage     = "deploy-stage"
	EventDeployInstance  = "deploy-instance"
	EventCanaryJudgement = "canary-judgement"
	EventDeployRollback  = "deploy-rollback"
	EventDeployDone      = "deploy-done"
)

// Names of the TrafficShift events of an evacuation (fault.Evacuation),
// with the region as Target: a step that moves users away from it, and its
// return to the even split.
const (
	ShiftEvacuate = "evacuate"
	ShiftRestore  = "restore"
)

// CapacityDetail prefixes a region's name in the Detail of a ShiftEvacuate
// event: the capacity the world declares for it (requests per second, "0"
// unknown), from which the split by spare capacity follows.
const CapacityDetail = "capacity."

// Phases of every experiment, in order.
const (
	PhaseSteady   = "steady-state"
	PhaseInject   = "inject"
	PhaseObserve  = "observe"
	PhaseRecover  = "recover"
	PhaseConverge = "converge"
	PhaseVerify   = "verify"
)

// Event is one line of a run's timeline: phases, faults and traffic changes.
type Event struct {
	Kind   EventKind         `json:"kind"`
	Time   time.Time         `json:"time"`
	Name   string            `json:"name"`
	Target string            `json:"target,omitempty"`
	Detail map[string]string `json:"detail,omitempty"`
}

// Record is one line of a history file: either an operation or an event.
type Record struct {
	Op    *Op    `json:"op,omitempty"`
	Event *Event `json:"event,omitempty"`
}

// History is a run's operations and timeline, in order.
type History struct {
	Ops    []Op
	Events []Event
}

// Recorder appends records to a JSON-lines history file; it is safe for
// concurrent use and flushes on Close.
type Recorder struct {
	mu  sync.Mutex
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
	err error
	// taps see every operation as it is recorded (Watch).
	taps []func(Op)
}

// Watch makes f see every operation recorded from now on, on the
// recording goroutine, after it is written: f must be quick and must not
// record anything itself.
func (r *Recorder) Watch(f func(Op)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.taps = append(r.taps, f)
}

// NewRecorder creates (or truncates) a history file.
func NewRecorder(path string) (*Recorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create history %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 1<<16)
	return &Recorder{f: f, w: w, enc: json.NewEncoder(w)}, nil
}

func (r *Recorder) write(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = r.enc.Encode(rec)
	}
}

// Op records an operation.
func (r *Recorder) Op(op Op) {
	r.write(Record{Op: &op})
	r.mu.Lock()
	taps := r.taps
	r.mu.Unlock()
	for _, f := range taps {
		f(op)
	}
}

// Event records a timeline event.
func (r *Recorder) Event(e Event) { r.write(Record{Event: &e}) }

// Flush writes buffered records to the file.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	return r.w.Flush()
}

// Close flushes and closes the file, returning the first write error.
func (r *Recorder) Close() error {
	ferr := r.Flush()
	cerr := r.f.Close()
	if ferr != nil {
		return ferr
	}
	return cerr
}

// Read reads a JSON-lines history; a truncated last line (a run that
// was killed mid-write) is skipped, any other bad line is an error naming it.
func Read(rd io.Reader) (*History, error) {
	h := &History{}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	var pending error
	for sc.Scan() {
		line++
		if pending != nil {
			return nil, pending
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			pending = fmt.Errorf("history line %d: %w", line, err)
			continue
		}
		switch {
		case rec.Op != nil:
			h.Ops = append(h.Ops, *rec.Op)
		case rec.Event != nil:
			h.Events = append(h.Events, *rec.Event)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return h, nil
}

// Load reads a history file.
func Load(path string) (*History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f)
}
