// Package invalidation carries cache invalidations between regions over SQS:
// after a write, a message for the key goes to the queue of every other
// region; each region consumes its own queue and drops (or replaces) the
// cached entry. Sending never blocks the user's request: messages wait in a
// queue per target region and are retried, in order, until delivered, so a
// healed partition never leaves a stale cache behind.
package invalidation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Message is one invalidation.
type Message struct {
	Key     string `json:"key"`
	Version int64  `json:"version"`
	// Value is set in replication mode: the new cached value itself.
	Value []byte `json:"value,omitempty"`
	From  string `json:"from"`
	Sent  int64  `json:"sent"` // unix µs when the write completed
}

// MaxMessageBytes is the largest message body SQS takes (256 KiB), and the
// largest sum of the bodies of one batch.
const MaxMessageBytes = 256 << 10

// maxBatch is the most messages SQS takes in one batch.
const maxBatch = 10

// ErrUnusable marks a received message that can never be applied (a key no
// member can have, for instance): a Handler wraps it so that Consume drops
// the message instead of leaving it for a redelivery that would fail the
// same way, for ever.
var ErrUnusable = errors.New("invalidation can never be applied")

// Target is another region's queue as seen from this region.
type Target struct {
	Region   string
	Endpoint string // SQS endpoint (through the cross-region link)
	Queue    string // queue name
}

// Client makes an SQS client for an endpoint.
func Client(endpoint, region string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:           region,
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
}

// Publisher sends invalidations to every other region.
type Publisher struct {
	from    string
	log     *slog.Logger
	queues  map[string]*outbox
	wg      sync.WaitGroup
	stopped chan struct{}
	// oversized counts replicated values too large for a message, sent as
	// plain invalidations instead; refused counts messages too large even so.
	oversized atomic.Uint64
	refused   atomic.Uint64
	// volatile keeps new messages in memory only (see SetVolatile).
	volatile atomic.Bool
}

// queued is a message waiting in an outbox, with the size of its body and
// its place in the outbox's order (1, 2, ...).
type queued struct {
	m    Message
	size int
	seq  uint64
}

// sender delivers one batch, in order, or fails as a whole.
type sender func(ctx context.Context, batch []Message) error

// outbox is the ordered backlog of one target region.
type outbox struct {
	target Target
	send   sender
	mu     sync.Mutex
	cond   *sync.Cond
	items  []queued
	sent   uint64
	fails  uint64
	limit  int
	drops  uint64
	// seq is the last sequence number given; journal, when set, keeps the
	// outbox across restarts (see journal), journalErrs counts its failed
	// writes (the message is still queued in memory).
	seq         uint64
	journal     *journal
	journalErrs uint64
}

// NewPublisher starts one sender per target; Close stops them. With dir set
// the outboxes are durable: each target's is journaled in dir (created when
// missing), and what an earlier publisher on the same dir queued and never
// delivered is sent first.
func NewPublisher(from string, targets []Target, limit int, dir string, log *slog.Logger) (*Publisher, error) {
	p := newPublisher(from, log)
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("outbox folder: %w", err)
		}
	}
	for _, t := range targets {
		if err := p.add(t, sqsSender(t), limit, dir); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// add starts the sender of one target, with its journal in dir when dir is
// set.
func (p *Publisher) add(t Target, send sender, limit int, dir string) error {
	if limit <= 0 {
		limit = 1_000_000
	}
	o := &outbox{target: t, send: send, limit: limit}
	o.cond = sync.NewCond(&o.mu)
	if dir != "" {
		j, owed, last, err := openJournal(journalPath(dir, t.Region))
		if err != nil {
			return err
		}
		o.journal, o.items, o.seq = j, owed, last
		if len(owed) > 0 {
			p.log.Info("owed invalidations found in the outbox journal; sending them first", "to", t.Region, "messages", len(owed))
		}
	}
	p.queues[t.Region] = o
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.run(o)
	}()
	return nil
}

// newPublisher is NewPublisher without targets, for add.
func newPublisher(from string, log *slog.Logger) *Publisher {
	return &Publisher{from: from, log: log, queues: map[string]*outbox{}, stopped: make(chan struct{})}
}

// Publish queues an invalidation for every other region and returns at once.
// A replicated value too large for one SQS message is left out: the message
// goes as a plain invalidation (the other regions drop the key instead of
// replacing it). A message too large even then is not sent: it could never
// be delivered, and would hold back every later one of its outbox.
func (p *Publisher) Publish(m Message) {
	m.From = p.from
	if m.Sent == 0 {
		m.Sent = time.Now().UnixMicro()
	}
	size := encodedSize(m)
	if size > MaxMessageBytes && m.Value != nil {
		p.oversized.Add(1)
		p.log.Warn("replicated value too large for a message; sending a plain invalidation", "key", clip(m.Key), "bytes", size)
		m.Value = nil
		size = encodedSize(m)
	}
	if size > MaxMessageBytes {
		p.refused.Add(1)
		p.log.Error("invalidation too large for a message; not sent", "key", clip(m.Key), "bytes", size)
		return
	}
	for _, o := range p.queues {
		o.mu.Lock()
		o.seq++
		q := queued{m: m, size: size, seq: o.seq}
		if o.journal != nil && !p.volatile.Load() {
			if err := o.journal.append(journalRecord{Seq: q.seq, Msg: &q.m}); err != nil {
				o.journalErrs++
				p.log.Error("outbox journal write failed; the invalidation is queued in memory only", "to", o.target.Region, "err", err)
			}
		}
		if len(o.items) >= o.limit {
			// Keep the newest: the oldest invalidation of a key is superseded
			// by a later one for it in most workloads; count what was lost.
			o.items = o.items[1:]
			o.drops++
		}
		o.items = append(o.items, q)
		o.cond.Signal()
		o.mu.Unlock()
	}
}

// Backlog is the number of messages waiting per target region.
func (p *Publisher) Backlog() map[string]int {
	out := map[string]int{}
	for r, o := range p.queues {
		o.mu.Lock()
		out[r] = len(o.items)
		o.mu.Unlock()
	}
	return out
}

// Stats reports sent, failed attempts and dropped messages per target.
func (p *Publisher) Stats() map[string][3]uint64 {
	out := map[string][3]uint64{}
	for r, o := range p.queues {
		o.mu.Lock()
		out[r] = [3]uint64{o.sent, o.fails, o.drops}
		o.mu.Unlock()
	}
	return out
}

// Oversized reports the replicated values sent as plain invalidations
// because they were too large, and the messages not sent at all because
// they were too large even so.
func (p *Publisher) Oversized() (downgraded, refused uint64) {
	return p.oversized.Load(), p.refused.Load()
}

// encodedSize is the size of m's message body.
func encodedSize(m Message) int {
	body, err := json.Marshal(m)
	if err != nil {
		return MaxMessageBytes + 1
	}
	return len(body)
}

// clip shortens a string for a log line.
func clip(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// SetVolatile(true) queues the messages published from now on in memory
// only, not in the outboxes' journals: a process killed while it owes them
// loses them, as an outbox without a journal does. A broken world
// (member.Faults.VolatileOutbox); SetVolatile(false) journals again.
func (p *Publisher) SetVolatile(v bool) { p.volatile.Store(v) }

// JournalErrors counts failed writes to the outbox journals.
func (p *Publisher) JournalErrors() uint64 {
	var n uint64
	for _, o := range p.queues {
		o.mu.Lock()
		n += o.journalErrs
		o.mu.Unlock()
	}
	return n
}

// Close stops the senders. Messages still queued are abandoned, unless the
// outboxes are journaled: then the next publisher on the same folder sends
// them.
func (p *Publisher) Close() {
	close(p.stopped)
	for _, o := range p.queues {
		o.mu.Lock()
		o.cond.Broadcast()
		o.mu.Unlock()
	}
	p.wg.Wait()
	for _, o := range p.queues {
		o.journal.close()
	}
}

func (p *Publisher) run(o *outbox) {
	backoff := 100 * time.Millisecond
	for {
		o.mu.Lock()
		for len(o.items) == 0 {
			select {
			case <-p.stopped:
				o.mu.Unlock()
				return
			default:
			}
			o.cond.Wait()
		}
		n := batchLen(o.items)
		batch := make([]Message, n)
		for i := range batch {
			batch[i] = o.items[i].m
		}
		sentUpTo := o.items[n-1].seq
		o.mu.Unlock()

		select {
		case <-p.stopped:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := o.send(ctx, batch)
		cancel()
		o.mu.Lock()
		if err == nil {
			// Remove what was sent by its sequence numbers: Publish may have
			// dropped the oldest messages meanwhile.
			k := 0
			for k < len(o.items) && o.items[k].seq <= sentUpTo {
				k++
			}
			o.items = o.items[k:]
			o.sent += uint64(n)
			if o.journal != nil {
				if jerr := o.journal.acked(sentUpTo, o.items); jerr != nil {
					o.journalErrs++
					p.log.Error("outbox journal acknowledgement failed; a restart may send these again", "to", o.target.Region, "err", jerr)
				}
			}
			o.mu.Unlock()
			backoff = 100 * time.Millisecond
			continue
		}
		o.fails++
		o.mu.Unlock()
		p.log.Debug("invalidation send failed; will retry", "to", o.target.Region, "err", err)
		select {
		case <-p.stopped:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// batchLen is how many of the first items make one batch: at most
// maxBatch, their bodies at most MaxMessageBytes together, and at least one.
func batchLen(items []queued) int {
	n, total := 0, 0
	for n < len(items) && n < maxBatch {
		total += items[n].size
		if n > 0 && total > MaxMessageBytes {
			break
		}
		n++
	}
	return n
}

// sqsSender sends batches to a target's queue with SendMessageBatch.
func sqsSender(t Target) sender {
	client := Client(t.Endpoint, t.Region)
	var url string
	return func(ctx context.Context, batch []Message) error {
		if url == "" {
			out, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(t.Queue)})
			if err != nil {
				return fmt.Errorf("queue url of %s: %w", t.Queue, err)
			}
			url = aws.ToString(out.QueueUrl)
		}
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for i, m := range batch {
			body, err := json.Marshal(m)
			if err != nil {
				return err
			}
			entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body))}
		}
		out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			return err
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("%d of %d invalidations refused by %s: %s", len(out.Failed), len(batch), t.Region,
				aws.ToString(out.Failed[0].Message))
		}
		return nil
	}
}

// Handler applies one received invalidation to the local cache. An error
// wrapping ErrUnusable says the message can never be applied.
type Handler func(Message) error

// ConsumerStats counts what Consume did with the messages it received.
type ConsumerStats struct {
	Applied atomic.Uint64 // applied, then deleted
	Dropped atomic.Uint64 // undecodable or unusable: deleted without being applied
	Retried atomic.Uint64 // not applied (the cache failed): left for a redelivery
}

// Consume long-polls a region's own queue until ctx ends, applying each
// message and deleting it once applied. Errors are retried: a message that
// could not be applied becomes visible again after its visibility timeout.
// A message that can never be applied (undecodable, or refused by apply as
// unusable) is deleted with a log line and counted in stats, not redelivered
// for ever.
func Consume(ctx context.Context, endpoint, region, queue string, apply Handler, stats *ConsumerStats, log *slog.Logger) error {
	if stats == nil {
		stats = new(ConsumerStats)
	}
	c := Client(endpoint, region)
	var url string
	for url == "" {
		out, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
		if err == nil {
			url = aws.ToString(out.QueueUrl)
			break
		}
		log.Warn("invalidation queue not reachable yet", "queue", queue, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	for ctx.Err() == nil {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		})
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("receive invalidations", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			continue
		}
		var done []types.DeleteMessageBatchRequestEntry
		for i, msg := range out.Messages {
			if !handle(aws.ToString(msg.Body), apply, stats, log) {
				continue
			}
			done = append(done, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle})
		}
		if len(done) > 0 {
			dctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_, err := c.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: done})
			cancel()
			if err != nil {
				log.Warn("delete applied invalidations", "err", err)
			}
		}
	}
	return nil
}

// handle applies one received message body and says whether to delete the
// message: once applied, or when it can never be applied (dropped and
// counted); not when applying it failed for now (it comes back).
func handle(body string, apply Handler, stats *ConsumerStats, log *slog.Logger) bool {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		stats.Dropped.Add(1)
		log.Error("undecodable invalidation dropped", "body", clip(body), "err", err)
		return true
	}
	if err := apply(m); err != nil {
		if errors.Is(err, ErrUnusable) {
			stats.Dropped.Add(1)
			log.Error("invalidation that can never be applied dropped", "key", clip(m.Key), "from", clip(m.From), "err", err)
			return true
		}
		stats.Retried.Add(1)
		log.Warn("invalidation not applied; it will come back", "key", clip(m.Key), "err", err)
		return false
	}
	stats.Applied.Add(1)
	return true
}
