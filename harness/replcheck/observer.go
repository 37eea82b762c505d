package replcheck

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/run"
)

// Observer is the replication check as the observe step of a
// run.Experiment (a run.Observer): it starts the check after the
// preflight (a CQL session in each region, the table), writes the records
// and reads each one at ReadAfter in the observe phase, re-reads the late
// ones in the converge phase, and in the verify phase records the summary
// in the history (for the checkers Complete and VisibleAtRead), writes
// replication.json and gives run.json the replication figures.
type Observer struct {
	// Config is the measurement; its Cluster, From, To and Records are
	// required.
	Config Config
	// Progress, when set, is told how the check goes about once a second.
	Progress func(Progress)
	// Settle bounds the wait, after the re-reads, until no Cassandra node
	// has hint files, pending mutations or compactions (see Converge); 0:
	// no wait.
	Settle time.Duration

	check    atomic.Pointer[Check] // once started
	art      run.Artifacts
	evidence *evidenceSampler // while the records are written and re-read
	// What the wait for a quiet world found (see Converge).
	settled    bool
	settleTook time.Duration
	busy       []string
}

// Start implements run.Observer.
func (o *Observer) Start(ctx context.Context, a run.Artifacts) error {
	c, err := o.Config.Start(ctx)
	if err != nil {
		return err
	}
	o.art = a
	o.check.Store(c)
	cfg := c.cfg
	a.Log.Printf("replication check: %d records written in %s at %s, read in %s at %s %s after each write, %d writes in flight, table %s.%s, run %s",
		cfg.Records, cfg.From, cfg.WriteConsistency, cfg.To, cfg.ReadConsistency, cfg.ReadAfter, cfg.Concurrency, cfg.Keyspace, cfg.Table, cfg.RunID)
	return nil
}

// Observe implements run.Observer: it writes the records and reads each
// one at ReadAfter.
func (o *Observer) Observe(ctx context.Context) error {
	c := o.check.Load()
	ev, err := startEvidence(ctx, c.cfg.Cluster, EvidenceInterval)
	if err != nil {
		o.art.Log.Printf("the nodes' evidence is not sampled: %v", err)
	}
	o.evidence = ev
	if err := c.Write(ctx); err != nil {
		return err
	}
	p := c.Progress()
	o.art.Log.Printf("%d records written (%d failed), %d read at %s: %d visible, %d late", p.Written, p.WriteErrors, p.Read, c.cfg.ReadAfter, p.Visible, p.Read-p.Visible)
	return nil
}

// Converge implements run.Observer: it re-reads the late records until
// every one was seen or the deadline passed, then waits (up to
// SettleBound) until the nodes are quiet again: a million records leave
// hints to replay, memtables to flush and sstables to compact, and the run
// that follows must not start on a world still busy with them.
func (o *Observer) Converge(ctx context.Context) error {
	if err := o.check.Load().Converge(ctx); err != nil {
		return err
	}
	if o.evidence == nil || o.Settle <= 0 {
		return nil
	}
	took, busy := o.evidence.settle(ctx, o.Settle)
	o.settled, o.settleTook, o.busy = len(busy) == 0, took, busy
	if len(busy) > 0 {
		o.art.Log.Printf("the world was not quiet %s after the re-reads: %s", took.Round(time.Second), strings.Join(busy, "; "))
	} else {
		o.art.Log.Printf("the world was quiet again %s after the re-reads", took.Round(time.Second))
	}
	return nil
}

// Verify implements run.Observer: the summary goes into phases.log, into
// the history as a note (see noteEvent) and into replication.json.
func (o *Observer) Verify(context.Context) (map[string]float64, error) {
	c := o.check.Load()
	s := c.Summary()
	if o.evidence != nil {
		s.Evidence = o.evidence.finish(c.Epoch())
		s.Evidence.SettleSeconds, s.Evidence.Settled, s.Evidence.Busy = o.settleTook.Seconds(), o.settled, o.busy
		o.evidence = nil
		for _, u := range s.Evidence.Unread {
			o.art.Log.Printf("evidence: could not read %s", u)
		}
	}
	o.art.Log.Printf("replication: %d records, %.3f%% visible at %s, %d missing; lag p50 %.1f ms, p99 %.1f ms, max %.1f ms; write rate %.0f/s",
		s.Samples, 100*s.VisibleAtRead, c.cfg.ReadAfter, s.Missing, s.P50, s.P99, s.Max, s.WriteRate)
	o.art.History.Event(noteEvent(s, time.Now()))
	return s.Figures(), history.SaveReplication(o.art.Dir, s)
}

// Close implements run.Observer.
func (o *Observer) Close() {
	if o.evidence != nil {
		o.evidence.close()
	}
	if c := o.check.Load(); c != nil {
		c.Close()
	}
}

// Pace implements run.PacedObserver: the records written, of how many,
// and the share of those read so far that were seen at the read.
func (o *Observer) Pace() run.Pace {
	c := o.check.Load()
	if c == nil {
		return run.Pace{}
	}
	return c.Progress().Pace(c.cfg.To, c.cfg.ReadAfter)
}

// Pace is p as the progress of a run shows it: the records written of how
// many, and the share of the records read so far in region to that were
// seen at the read, readAfter after their write.
func (p Progress) Pace(to string, readAfter time.Duration) run.Pace {
	pace := run.Pace{Done: p.Written, Total: p.Records, What: "records written"}
	if p.Read > 0 {
		pace.Note = fmt.Sprintf("%.2f%% seen in %s at %s", 100*float64(p.Visible)/float64(p.Read), to, readAfter)
	}
	return pace
}

// Report implements run.ReportingObserver: it tells Progress how the
// check goes, in the run's phase.
func (o *Observer) Report(p run.Progress) {
	c := o.check.Load()
	if o.Progress == nil || c == nil {
		return
	}
	cp := c.Progress()
	cp.Phase = p.Phase
	o.Progress(cp)
}
