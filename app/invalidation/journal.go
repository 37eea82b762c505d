package invalidation

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
)

// journal makes one target's outbox survive the process: every queued
// message is appended to a file before Publish returns, and every delivered
// batch appends an acknowledgement. A restarted publisher replays what was
// queued and never acknowledged, so an invalidation owed to a region is not
// lost when the member service that owed it is killed. Each record is one
// write(2) to the file: it is in the kernel once Publish returns, which a
// killed process cannot undo (a power cut could; the file is not synced).
type journal struct {
	path string
	f    *os.File
	size int64
}

// journalRecord is one line of a journal: a queued message (Seq and Msg)
// or an acknowledgement that every message up to Ack was delivered or
// dropped.
type journalRecord struct {
	Seq uint64   `json:"seq,omitempty"`
	Msg *Message `json:"msg,omitempty"`
	Ack uint64   `json:"ack,omitempty"`
}

// compactBytes is the journal size past which an acknowledgement rewrites
// it with only the messages still owed.
const compactBytes = 64 << 20

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// journalPath is the journal of the outbox towards region in dir.
func journalPath(dir, region string) string {
	return filepath.Join(dir, "outbox-"+unsafeFileChars.ReplaceAllString(region, "_")+".jsonl")
}

// openJournal reads the journal at path (a missing file is an empty one),
// returns the messages still owed with their sequence numbers, and rewrites
// the file to hold just those, ready for appending.
func openJournal(path string) (*journal, []queued, uint64, error) {
	owed, last, err := replayJournal(path)
	if err != nil {
		return nil, nil, 0, err
	}
	j := &journal{path: path}
	if err := j.rewrite(owed); err != nil {
		return nil, nil, 0, err
	}
	return j, owed, last, nil
}

// replayJournal reads a journal: the messages queued and not acknowledged,
// in order, and the highest sequence number it holds. A torn last line (the
// process died in the middle of a write) is ignored.
func replayJournal(path string) ([]queued, uint64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("outbox journal: %w", err)
	}
	defer f.Close()
	var (
		all  []queued
		ack  uint64
		last uint64
	)
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var rec journalRecord
			if json.Unmarshal(line, &rec) == nil {
				switch {
				case rec.Msg != nil && rec.Seq > 0:
					all = append(all, queued{m: *rec.Msg, size: encodedSize(*rec.Msg), seq: rec.Seq})
					last = max(last, rec.Seq)
				case rec.Ack > 0:
					ack = max(ack, rec.Ack)
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("outbox journal %s: %w", path, err)
		}
	}
	owed := all[:0]
	for _, q := range all {
		if q.seq > ack {
			owed = append(owed, q)
		}
	}
	return owed, max(last, ack), nil
}

// append writes one record as one line.
func (j *journal) append(rec journalRecord) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	n, err := j.f.Write(append(line, '\n'))
	j.size += int64(n)
	return err
}

// acked records that every message up to seq was delivered. With nothing
// owed any more the file is emptied in place (one truncate: this runs after
// every delivered batch); a journal grown past compactBytes is rewritten
// with what is still owed.
func (j *journal) acked(seq uint64, owed []queued) error {
	switch {
	case len(owed) == 0:
		j.size = 0
		return j.f.Truncate(0) // O_APPEND: the next record goes to the start
	case j.size > compactBytes:
		return j.rewrite(owed)
	}
	return j.append(journalRecord{Ack: seq})
}

// rewrite replaces the journal with one holding only owed, atomically.
func (j *journal) rewrite(owed []queued) error {
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("outbox journal: %w", err)
	}
	next := &journal{path: j.path, f: f}
	for _, q := range owed {
		if err := next.append(journalRecord{Seq: q.seq, Msg: &q.m}); err != nil {
			f.Close()
			os.Remove(tmp)
			return fmt.Errorf("outbox journal: %w", err)
		}
	}
	if err := os.Rename(tmp, j.path); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("outbox journal: %w", err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.size = f, next.size
	return nil
}

func (j *journal) close() {
	if j != nil && j.f != nil {
		j.f.Close()
	}
}
