package replcheck

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
	"github.com/stretchr/testify/assert"

	"github.com/kongchaos/kong/harness/history"
)

// A replication check whose writes mostly fail is not judged by the
// acknowledged records alone: the write-error checker holds the records
// that were refused or timed out to a budget.
func TestWriteErrorsChecker(t *testing.T) {
	sum := func(errs, timeouts, seen int) *history.Index {
		return history.NewIndex(replHistory(history.Replication{Records: 10000, Samples: 10000 - errs - timeouts,
			WriteErrors: errs, WriteTimeouts: timeouts, WriteTimeoutsSeen: seen, From: "us-east-1", To: "us-west-2"}))
	}
	c := WriteErrors{Budget: WriteErrorBudget}
	r := c.Check(sum(0, 0, 0))
	assert.Equal(t, history.VerdictValid, r.Valid, r.Reason)
	r = c.Check(sum(6, 4, 1))
	assert.Equal(t, history.VerdictValid, r.Valid, "10 of 10000 is the budget: %s", r.Reason)
	r = c.Check(sum(6, 5, 2))
	assert.Equal(t, history.VerdictInvalid, r.Valid)
	assert.Contains(t, r.Reason, "11 of 10000 records written in us-east-1 were not acknowledged (0.110%): 6 refused, 5 timed out (outcome unknown; 2 of them seen in us-west-2, so applied), over the budget of 0.100%")
	assert.Equal(t, 5.0, r.Figures["write_timeouts"])
	r = c.Check(sum(9000, 0, 0))
	assert.Equal(t, history.VerdictInvalid, r.Valid, "most writes failed: the few acknowledged ones do not make a pass")
	r = c.Check(history.NewIndex(&history.History{}))
	assert.Equal(t, history.VerdictUnknown, r.Valid)

	// Complete names the unacknowledged records it leaves to this checker.
	good := history.Replication{Records: 10000, Samples: 9989, WriteErrors: 6, WriteTimeouts: 5, VisibleAtRead: 1, From: "us-east-1", To: "us-west-2"}
	r = Complete{}.Check(history.NewIndex(replHistory(good)))
	assert.Equal(t, history.VerdictValid, r.Valid)
	assert.Contains(t, r.Details, "11 records were not acknowledged and are not judged here (see replication-write-errors): 6 refused, 5 timed out")
}

func TestOutcomeUnknown(t *testing.T) {
	assert.True(t, outcomeUnknown(&gocql.RequestErrWriteTimeout{}), "the coordinator timed out: some replicas may hold it")
	assert.True(t, outcomeUnknown(fmt.Errorf("write: %w", gocql.ErrTimeoutNoResponse)))
	assert.True(t, outcomeUnknown(gocql.ErrConnectionClosed))
	assert.True(t, outcomeUnknown(context.DeadlineExceeded))
	assert.False(t, outcomeUnknown(&gocql.RequestErrUnavailable{}), "refused before any replica was written")
	assert.False(t, outcomeUnknown(gocql.ErrNoConnections))
	assert.False(t, outcomeUnknown(errors.New("syntax error")))
}

// handMadeCheck is a check of n records in the state a run left them in,
// for Summary.
func handMadeCheck(n int) *Check {
	r := &Check{n: n, ack: make([]int64, n), state: make([]uint8, n), readDoneUs: make([]int32, n),
		sampleUs: make([]int32, n), lateUs: make([]int32, n), pollLatency: newLagHist()}
	for i := range n {
		r.readDoneUs[i], r.sampleUs[i], r.lateUs[i] = -1, -1, -1
	}
	return r
}

// Records whose write timed out are followed, and counted apart from the
// acknowledged ones: seen (applied) or not, never missing.
func TestSummaryCountsTimedOutWritesApart(t *testing.T) {
	r := handMadeCheck(6)
	r.state[0], r.readDoneUs[0] = stAcked|stVisible, 500_000
	r.state[1], r.lateUs[1] = stAcked|stLate, 900_000
	r.state[2] = stWriteFailed
	r.state[3], r.readDoneUs[3] = stTimedOut|stVisible, 500_000 // applied, seen at its read
	r.state[4], r.lateUs[4] = stTimedOut|stLate, 700_000        // applied, seen by a re-read
	r.state[5] = stTimedOut | stLate                            // never seen: maybe not applied
	r.writeErrors.Store(1)
	s := r.Summary()
	assert.Equal(t, 2, s.Samples, "only acknowledged records are in the shares")
	assert.Equal(t, 0, s.Missing, "a timed-out write never seen is not missing")
	assert.Equal(t, 1, s.WriteErrors)
	assert.Equal(t, 3, s.WriteTimeouts)
	assert.Equal(t, 2, s.WriteTimeoutsSeen)
	assert.InDelta(t, 0.5, s.VisibleAtRead, 1e-12)
}

// Late records whose write timed out are re-read, but convergence does not
// wait for them: they may never have been applied.
func TestLateSetDoesNotWaitForTimedOutWrites(t *testing.T) {
	var l lateSet
	l.init(0)
	l.add(1, 0b01, 0)
	l.addUnknown(1, 0b10, 0)
	l.addUnknown(2, 0b1, 0)
	assert.Equal(t, 2, l.len(), "both partitions are re-read")
	assert.Equal(t, 1, l.owedRecords())
	assert.Equal(t, []uint32{1, 2}, l.dueFor(time.Second, 10))
	l.done(1, 0b01, true, time.Second, func(int) {})
	assert.Equal(t, 0, l.owedRecords(), "the acknowledged record was seen: nothing is owed")
	assert.Equal(t, 2, l.len(), "the timed-out ones are still re-read")
	l.done(2, 0b1, true, time.Second, func(int) {})
	l.done(1, 0b10, true, time.Second, func(int) {})
	assert.Equal(t, 0, l.len())
	assert.Equal(t, 0, l.owedRecords())
}
