package history

import (
	"cmp"
	"iter"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// This file holds read-only views over a History that the checkers and the
// reports share: invokes paired with their completions, phase windows from
// the timeline, values grouped by region and phase, and per-key indexes of
// acknowledged writes. None of it changes the History.

// Operation is one request: its invoke paired with its completion. Either
// side may be missing: an invoke that never completed (the run stopped while
// it was in flight) has a nil Completion and counts as pending; a completion
// whose invoke was not recorded has a nil Invoke and its invoke time is
// derived from its latency.
//
// Identity fields (op name, member, key, session, home, entry, phase) are
// taken from the invoke when set there, else from the completion; result
// fields (serving region, zone, instance, version, latency, status) from the
// completion when set, else from the invoke; flags are set if set on either.
type Operation struct {
	Invoke     *Op
	Completion *Op
}

// ident is f of the invoke, or of the completion where the invoke has
// none: what the request asked for.
func (o Operation) ident(f func(*Op) string) string { return firstOf(f, o.Invoke, o.Completion) }

// result is f of the completion, or of the invoke where the completion has
// none: what the answer said.
func (o Operation) result(f func(*Op) string) string { return firstOf(f, o.Completion, o.Invoke) }

// firstOf is the first f of ops, the nil ones aside, that is not empty.
func firstOf(f func(*Op) string, ops ...*Op) string {
	for _, op := range ops {
		if op != nil {
			if s := f(op); s != "" {
				return s
			}
		}
	}
	return ""
}

func (o Operation) flag(f func(*Op) bool) bool {
	return (o.Invoke != nil && f(o.Invoke)) || (o.Completion != nil && f(o.Completion))
}

// Completed reports whether the operation has a completion (ok, fail or info).
func (o Operation) Completed() bool { return o.Completion != nil }

// Type is the completion's type (ok, fail, info), or Invoke when pending.
func (o Operation) Type() OpType {
	if o.Completion == nil {
		return Invoke
	}
	return o.Completion.Type
}

// IsOK reports whether the operation completed ok.
func (o Operation) IsOK() bool { return o.Completion != nil && o.Completion.Type == OK }

// Name is the operation name (read-profile, write-profile, probe, ...).
func (o Operation) Name() string { return o.ident(func(p *Op) string { return p.Op }) }

// Key is the data key the operation read or wrote.
func (o Operation) Key() string { return o.ident(func(p *Op) string { return p.Key }) }

// Member is the simulated member.
func (o Operation) Member() string { return o.ident(func(p *Op) string { return p.Member }) }

// Session is the device session.
func (o Operation) Session() string { return o.ident(func(p *Op) string { return p.Session }) }

// Home is the member's home region.
func (o Operation) Home() string { return o.ident(func(p *Op) string { return p.Home }) }

// Entry is the region the director sent the client to.
func (o Operation) Entry() string { return o.ident(func(p *Op) string { return p.Entry }) }

// UserRegion is the region the user belongs to for this request: Entry when
// recorded, else Home.
func (o Operation) UserRegion() string {
	if e := o.Entry(); e != "" {
		return e
	}
	return o.Home()
}

// Region is the region that served the request (after redirect or proxying).
func (o Operation) Region() string { return o.result(func(p *Op) string { return p.Region }) }

// Version is the version written (writes) or returned (reads and probes):
// the completion's when non-zero, else the invoke's.
func (o Operation) Version() int64 {
	if o.Completion != nil && o.Completion.Version != 0 {
		return o.Completion.Version
	}
	if o.Invoke != nil {
		return o.Invoke.Version
	}
	return 0
}

// Shed reports whether the request was shed.
func (o Operation) Shed() bool { return o.flag(func(p *Op) bool { return p.Shed }) }

// CacheHit reports whether the request was answered from the cache.
func (o Operation) CacheHit() bool { return o.flag(func(p *Op) bool { return p.CacheHit }) }

// Failover reports whether the request was served in failover mode.
func (o Operation) Failover() bool { return o.flag(func(p *Op) bool { return p.Failover }) }

// Proxied reports whether the request was proxied to another region.
func (o Operation) Proxied() bool { return o.flag(func(p *Op) bool { return p.Proxied }) }

// Redirected reports whether the client was redirected.
func (o Operation) Redirected() bool { return o.flag(func(p *Op) bool { return p.Redirected }) }

// InvokeTime is when the request was invoked: the invoke's time, or for an
// orphan completion its time minus its latency.
func (o Operation) InvokeTime() time.Time {
	if o.Invoke != nil {
		return o.Invoke.Time
	}
	return o.Completion.Time.Add(-o.Completion.Latency)
}

// Entries are the versions of the entries a probe of a viewing history
// showed, and whether the page it showed was cut (see Op.Entries); nil
// when it recorded none.
func (o Operation) Entries() (versions []int64, cut bool) {
	if o.Completion == nil {
		return nil, false
	}
	return o.Completion.Entries, o.Completion.EntriesCut
}

// Due is when the request was scheduled (zero when it had no schedule):
// the invoke's, else the completion's.
func (o Operation) Due() time.Time {
	if o.Invoke != nil && !o.Invoke.Due.IsZero() {
		return o.Invoke.Due
	}
	if o.Completion != nil {
		return o.Completion.Due
	}
	return time.Time{}
}

// CompleteTime is when the request completed (zero when pending).
func (o Operation) CompleteTime() time.Time {
	if o.Completion == nil {
		return time.Time{}
	}
	return o.Completion.Time
}

// Latency is the completion's recorded latency (corrected for coordinated
// omission), else completion time minus invoke time; zero when pending.
func (o Operation) Latency() time.Duration {
	if o.Completion == nil {
		return 0
	}
	if o.Completion.Latency > 0 {
		return o.Completion.Latency
	}
	if o.Invoke != nil {
		if d := o.Completion.Time.Sub(o.Invoke.Time); d > 0 {
			return d
		}
	}
	return 0
}

// IsWrite reports whether the operation writes a versioned key.
func (o Operation) IsWrite() bool {
	n := o.Name()
	return n == OpWriteProfile || n == OpAppendHistory
}

// IsUserRead reports whether the operation is a user read (not a probe).
func (o Operation) IsUserRead() bool {
	n := o.Name()
	return n == OpReadProfile || n == OpReadHistory
}

// IsProbe reports whether the operation is a harness read-back.
func (o Operation) IsProbe() bool { return o.Name() == OpProbe }

// Source is what a probe read (Op.Source): "" through a gateway.
func (o Operation) Source() string { return o.result(func(p *Op) string { return p.Source }) }

// IsCacheProbe reports whether the operation is a probe of one zone's cache.
func (o Operation) IsCacheProbe() bool { return o.IsProbe() && IsCacheSource(o.Source()) }

// IsCacheSource reports whether a probe's source (Op.Source) is one zone's
// cache.
func IsCacheSource(source string) bool { return strings.HasPrefix(source, SourceCache) }

// PhaseWindow is a scenario phase and its [Start, End) window; End is zero
// for the last phase, which lasts until the end of the history (a report
// sets it to the end of the run).
type PhaseWindow struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Contains reports whether t lies in the window.
func (w PhaseWindow) Contains(t time.Time) bool {
	return !t.Before(w.Start) && (w.End.IsZero() || t.Before(w.End))
}

// EventsOf returns the events of the given kinds (all when none are given),
// ordered by time (stable for equal times).
func (h *History) EventsOf(kinds ...EventKind) []Event {
	var out []Event
	for _, e := range h.Events {
		if len(kinds) == 0 || slices.Contains(kinds, e.Kind) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Phases returns the phases started by PhaseStart events, in time order, each
// ending where the next begins.
func (h *History) Phases() []PhaseWindow {
	evs := h.EventsOf(PhaseStart)
	out := make([]PhaseWindow, 0, len(evs))
	for i, e := range evs {
		w := PhaseWindow{Name: e.Name, Start: e.Time}
		if i+1 < len(evs) {
			w.End = evs[i+1].Time
		}
		out = append(out, w)
	}
	return out
}

// Index is a History with its invokes paired to their completions and
// its phases resolved. Build it with NewIndex; it points into the
// History, which must not change while the index is in use. It is safe for
// concurrent use by several checkers.
type Index struct {
	History *History
	// Operations are in the order of their first record in the history.
	Operations []Operation
	Phases     []PhaseWindow
	// Pending counts invokes that never completed; Orphans completions whose
	// invoke was not recorded.
	Pending int
	Orphans int

	ackedOnce sync.Once
	acked     map[string]*KeyWrites
	nacked    int
}

type procSeq struct {
	process int
	seq     uint64
}

// NewIndex pairs each invoke with the next completion of the same
// Process and Seq (a process has one request in flight at a time, as in
// Jepsen: a second invoke with the same Process and Seq leaves the first
// pending).
func NewIndex(h *History) *Index {
	x := &Index{History: h, Phases: h.Phases()}
	x.Operations = make([]Operation, 0, len(h.Ops)/2+1)
	open := make(map[procSeq]int, 1024)
	for i := range h.Ops {
		op := &h.Ops[i]
		k := procSeq{op.Process, op.Seq}
		if op.Type == Invoke {
			if _, dup := open[k]; dup {
				x.Pending++
			}
			open[k] = len(x.Operations)
			x.Operations = append(x.Operations, Operation{Invoke: op})
			continue
		}
		if j, ok := open[k]; ok {
			x.Operations[j].Completion = op
			delete(open, k)
			continue
		}
		x.Orphans++
		x.Operations = append(x.Operations, Operation{Completion: op})
	}
	x.Pending += len(open)
	return x
}

// PhaseAt returns the name of the phase under way at t ("" before the first
// phase or when the timeline has none).
func (x *Index) PhaseAt(t time.Time) string {
	ph := x.Phases
	i := sort.Search(len(ph), func(i int) bool { return ph[i].Start.After(t) })
	if i == 0 {
		return ""
	}
	return ph[i-1].Name
}

// PhaseOf returns the operation's phase: the phase under way when it was
// due (Due, its intended time) when the timeline names one, else its
// recorded Phase, else the phase under way when it was invoked. A request
// a stalled generator sent late belongs to the phase it was meant for: it
// would otherwise meet the system after a fault and be judged in the next
// phase.
func (x *Index) PhaseOf(o Operation) string {
	if due := o.Due(); !due.IsZero() {
		if p := x.PhaseAt(due); p != "" {
			return p
		}
	}
	if p := o.ident(func(p *Op) string { return p.Phase }); p != "" {
		return p
	}
	return x.PhaseAt(o.InvokeTime())
}

// PhaseNames returns the phase names in timeline order, then any phase that
// operations name but the timeline does not, sorted.
func (x *Index) PhaseNames(seen map[string]bool) []string {
	var out []string
	in := map[string]bool{}
	for _, p := range x.Phases {
		if !in[p.Name] {
			in[p.Name] = true
			out = append(out, p.Name)
		}
	}
	var extra []string
	for p := range seen {
		if !in[p] {
			extra = append(extra, p)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// RegionPhases holds one value per (region, phase) that operations are
// counted in, such as the availability checker's counts or a report's
// figures of a phase in a region, and lists both in order: regions sorted,
// phases as Index.PhaseNames orders them. The region is the caller's to
// choose (the user's region, the serving one, or "" for all).
type RegionPhases[T any] struct {
	x      *Index
	newT   func() *T
	m      map[RegionPhase]*T
	phases map[string]bool
}

// RegionPhase is a region and a phase that operations are counted in.
type RegionPhase struct{ Region, Phase string }

// NewRegionPhases returns an empty grouping over x's phases; newT makes the
// value of a pair on its first use (nil: a zero T).
func NewRegionPhases[T any](x *Index, newT func() *T) *RegionPhases[T] {
	if newT == nil {
		newT = func() *T { return new(T) }
	}
	return &RegionPhases[T]{x: x, newT: newT, m: map[RegionPhase]*T{}, phases: map[string]bool{}}
}

// At returns the value of (region, phase), made on first use.
func (g *RegionPhases[T]) At(region, phase string) *T {
	k := RegionPhase{region, phase}
	v := g.m[k]
	if v == nil {
		v = g.newT()
		g.m[k] = v
		g.phases[phase] = true
	}
	return v
}

// Get returns the value of (region, phase), or nil when nothing was counted
// there.
func (g *RegionPhases[T]) Get(region, phase string) *T { return g.m[RegionPhase{region, phase}] }

// Len is the number of (region, phase) pairs counted in.
func (g *RegionPhases[T]) Len() int { return len(g.m) }

// Regions lists the regions counted in, sorted.
func (g *RegionPhases[T]) Regions() []string {
	seen := map[string]bool{}
	var out []string
	for k := range g.m {
		if !seen[k.Region] {
			seen[k.Region] = true
			out = append(out, k.Region)
		}
	}
	sort.Strings(out)
	return out
}

// Phases lists the timeline's phases in order, then the phases counted in
// that the timeline does not name, sorted (Index.PhaseNames).
func (g *RegionPhases[T]) Phases() []string { return g.x.PhaseNames(g.phases) }

// All yields every (region, phase) counted in with its value, by region,
// then by phase in the order of Phases.
func (g *RegionPhases[T]) All() iter.Seq2[RegionPhase, *T] {
	return func(yield func(RegionPhase, *T) bool) {
		phases := g.Phases()
		for _, region := range g.Regions() {
			for _, phase := range phases {
				if v := g.Get(region, phase); v != nil && !yield(RegionPhase{region, phase}, v) {
					return
				}
			}
		}
	}
}

// KeyWrites indexes the acknowledged writes of one key by acknowledgment
// (ok completion) time, with the running maximum of their versions. It is
// read-only.
type KeyWrites struct {
	Ack     []int64 // completion time, UnixNano, ascending
	Version []int64 // version written, in Ack order
	Max     []int64 // Max[i] = max(Version[0..i])
}

// Len is the number of acknowledged writes.
func (k *KeyWrites) Len() int { return len(k.Ack) }

// AckedBefore returns how many writes were acknowledged strictly before t.
func (k *KeyWrites) AckedBefore(t int64) int {
	return sort.Search(len(k.Ack), func(i int) bool { return k.Ack[i] >= t })
}

// NewestBefore returns the newest version acknowledged strictly before t, and
// whether there is one.
func (k *KeyWrites) NewestBefore(t int64) (int64, bool) {
	n := k.AckedBefore(t)
	if n == 0 {
		return 0, false
	}
	return k.Max[n-1], true
}

// FirstAbove returns the index of the earliest acknowledged write among the
// first n whose version exceeds v, or -1.
func (k *KeyWrites) FirstAbove(v int64, n int) int {
	i := sort.Search(n, func(i int) bool { return k.Max[i] > v })
	if i == n {
		return -1
	}
	return i
}

// AckedWrites indexes the ok writes with a key by key, and counts them. It
// is built once per index, on first use, and shared.
func (x *Index) AckedWrites() (map[string]*KeyWrites, int) {
	x.ackedOnce.Do(func() { x.acked, x.nacked = buildAckedWrites(x.Operations) })
	return x.acked, x.nacked
}

func buildAckedWrites(ops []Operation) (map[string]*KeyWrites, int) {
	type ackVersion struct{ ack, version int64 }
	byKey := make(map[string][]ackVersion)
	n := 0
	for _, o := range ops {
		if !o.IsOK() || !o.IsWrite() {
			continue
		}
		key := o.Key()
		if key == "" {
			continue
		}
		byKey[key] = append(byKey[key], ackVersion{o.CompleteTime().UnixNano(), o.Version()})
		n++
	}
	m := make(map[string]*KeyWrites, len(byKey))
	for key, ws := range byKey {
		slices.SortFunc(ws, func(a, b ackVersion) int {
			if a.ack != b.ack {
				return cmp.Compare(a.ack, b.ack)
			}
			return cmp.Compare(a.version, b.version)
		})
		kw := &KeyWrites{Ack: make([]int64, len(ws)), Version: make([]int64, len(ws)), Max: make([]int64, len(ws))}
		for i, w := range ws {
			kw.Ack[i], kw.Version[i] = w.ack, w.version
			if i == 0 || w.version > kw.Max[i-1] {
				kw.Max[i] = w.version
			} else {
				kw.Max[i] = kw.Max[i-1]
			}
		}
		m[key] = kw
	}
	return m, n
}
