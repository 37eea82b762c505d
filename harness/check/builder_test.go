package check

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/harness/history"
)

// hb builds small hand-made histories: times are milliseconds after t0.
type hb struct {
	t0  time.Time
	h   history.History
	seq uint64
}

func newHB() *hb {
	return &hb{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (b *hb) at(ms int) time.Time { return b.t0.Add(time.Duration(ms) * time.Millisecond) }

func (b *hb) event(kind history.EventKind, name string, ms int) *hb {
	b.h.Events = append(b.h.Events, history.Event{Kind: kind, Name: name, Time: b.at(ms)})
	return b
}

// shift adds a traffic shift of an evacuation (history.ShiftEvacuate or
// history.ShiftRestore) of region.
func (b *hb) shift(name, region string, ms int) *hb {
	b.h.Events = append(b.h.Events, history.Event{Kind: history.TrafficShift, Name: name, Target: region, Time: b.at(ms)})
	return b
}

// tier adds a data-tier sample of region at ms: its member services had
// sent ops Cassandra queries so far.
func (b *hb) tier(region string, ms int, ops uint64) *hb {
	b.h.Events = append(b.h.Events, history.Event{Kind: history.Note, Name: history.EventDataTier, Target: region, Time: b.at(ms),
		Detail: map[string]string{"cassandra_ops": strconv.FormatUint(ops, 10), "members": "2"}})
	return b
}

func (b *hb) phase(name string, ms int) *hb { return b.event(history.PhaseStart, name, ms) }

// op is one operation to add: invoked at At ms, completed Dur ms later.
type op struct {
	Name    string
	Type    history.OpType // completion type; default OK
	Key     string
	Session string
	Home    string
	Entry   string
	Region  string
	Version int64
	At, Dur int
	// Lat overrides the recorded latency (default Dur).
	Lat                        time.Duration
	Phase                      string
	Shed, Cache, Failover, Pxy bool
	Redir                      bool
	NoInvoke, NoCompletion     bool
	// Source is a probe's source (history.Op.Source).
	Source string
}

func (b *hb) add(ops ...op) *hb {
	for _, o := range ops {
		b.seq++
		if o.Type == "" {
			o.Type = history.OK
		}
		if o.Name == "" {
			o.Name = history.OpReadProfile
		}
		inv := history.Op{Type: history.Invoke, Time: b.at(o.At), Process: 1, Seq: b.seq, Op: o.Name, Key: o.Key,
			Session: o.Session, Home: o.Home, Entry: o.Entry, Phase: o.Phase}
		if o.Name == history.OpWriteProfile || o.Name == history.OpAppendHistory {
			inv.Version = o.Version
		}
		lat := o.Lat
		if lat == 0 {
			lat = time.Duration(o.Dur) * time.Millisecond
		}
		done := history.Op{Type: o.Type, Time: b.at(o.At + o.Dur), Process: 1, Seq: b.seq, Op: o.Name, Key: o.Key,
			Session: o.Session, Region: o.Region, Version: o.Version, Latency: lat,
			Shed: o.Shed, CacheHit: o.Cache, Failover: o.Failover, Proxied: o.Pxy, Redirected: o.Redir, Source: o.Source}
		if o.NoInvoke {
			done.Home, done.Entry, done.Phase = o.Home, o.Entry, o.Phase
		} else {
			b.h.Ops = append(b.h.Ops, inv)
		}
		if !o.NoCompletion {
			b.h.Ops = append(b.h.Ops, done)
		}
	}
	return b
}

// many adds n copies of o spaced step ms apart, starting at o.At.
func (b *hb) many(n, step int, o op) *hb {
	for i := 0; i < n; i++ {
		c := o
		c.At = o.At + i*step
		b.add(c)
	}
	return b
}

func (b *hb) history() *history.History { return &b.h }

// checkCase is one table row: a checker over a history, the verdict wanted
// and words its reason must contain.
type checkCase struct {
	name    string
	checker Checker
	history func() *history.History
	want    history.Verdict
	reason  []string
	figures map[string]float64
}

func runCases(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.checker.Check(history.NewIndex(tc.history()))
			assert.Equal(t, tc.checker.Name(), r.Checker)
			require.Equal(t, tc.want, r.Valid, "reason: %s\ndetails: %v\nfigures: %v", r.Reason, r.Details, r.Figures)
			for _, w := range tc.reason {
				assert.Contains(t, r.Reason, w)
			}
			for k, v := range tc.figures {
				if assert.Contains(t, r.Figures, k) {
					// HDR percentiles are within 0.1%.
					assert.InDelta(t, v, r.Figures[k], 1e-9+0.002*v, "figure %s", k)
				}
			}
		})
	}
}
