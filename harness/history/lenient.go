package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Damage is what LoadLenient skipped in a history file.
type Damage struct {
	// BadLines counts the lines that could not be read.
	BadLines int
	// FirstBad is "line N: error" of the first of them.
	FirstBad string
	// Truncated is set when the last line was cut short.
	Truncated bool
}

// LoadLenient reads a JSON-lines history file leniently, unlike Load: a
// report is most needed for a run that went wrong, so an unreadable line is
// counted and skipped instead of failing the report. A last line without
// its newline that does not parse is a truncated write (the run was
// killed). Times are converted to UTC.
func LoadLenient(path string) (*History, Damage, error) {
	var hr Damage
	f, err := os.Open(path)
	if err != nil {
		return nil, hr, err
	}
	defer f.Close()
	h := &History{}
	br := bufio.NewReaderSize(f, 1<<16)
	for n := 1; ; n++ {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return nil, hr, fmt.Errorf("%s line %d: %w", path, n, rerr)
		}
		last := errors.Is(rerr, io.EOF)
		if t := bytes.TrimSpace(line); len(t) > 0 {
			var rec Record
			err := json.Unmarshal(t, &rec)
			switch {
			case err == nil && rec.Op != nil:
				rec.Op.Time = rec.Op.Time.UTC()
				h.Ops = append(h.Ops, *rec.Op)
			case err == nil && rec.Event != nil:
				rec.Event.Time = rec.Event.Time.UTC()
				h.Events = append(h.Events, *rec.Event)
			case err != nil && last:
				hr.Truncated = true
			default:
				if err == nil {
					err = errors.New("neither an op nor an event")
				}
				hr.BadLines++
				if hr.FirstBad == "" {
					hr.FirstBad = fmt.Sprintf("line %d: %v", n, err)
				}
			}
		}
		if last {
			return h, hr, nil
		}
	}
}
