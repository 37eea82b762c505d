package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// proc is /proc; a zero FS (no /proc) makes every figure 0.
func proc() (procfs.FS, bool) {
	fs, err := procfs.NewDefaultFS()
	return fs, err == nil
}

// fromProcess is what read finds in /proc/<pid>, when there is one and
// read can read it.
func fromProcess[T any](pid int, read func(procfs.Proc) (T, error)) (T, bool) {
	var zero T
	fs, ok := proc()
	if !ok || pid <= 0 {
		return zero, false
	}
	p, err := fs.Proc(pid)
	if err != nil {
		return zero, false
	}
	v, err := read(p)
	if err != nil {
		return zero, false
	}
	return v, true
}

// ProcessCPUSeconds is the user and system time pid has used, in seconds
// (0 when it is gone).
func ProcessCPUSeconds(pid int) float64 {
	st, ok := fromProcess(pid, procfs.Proc.Stat)
	if !ok {
		return 0
	}
	return st.CPUTime()
}

// MachineBusySeconds is the CPU time every core spent busy (not idle, not
// waiting for I/O).
func MachineBusySeconds() float64 {
	fs, ok := proc()
	if !ok {
		return 0
	}
	st, err := fs.Stat()
	if err != nil {
		return 0
	}
	c := st.CPUTotal
	return c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal + c.Guest + c.GuestNice
}

// ClientCPUSeconds is the user and system time this process has used.
func ClientCPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// RSSBytes is a process's resident set size (0 when it is gone).
func RSSBytes(pid int) int64 {
	st, ok := fromProcess(pid, procfs.Proc.NewStatus)
	if !ok {
		return 0
	}
	return int64(st.VmRSS)
}

// MemTotal is the machine's memory, such as "7.7 GiB RAM".
func MemTotal() string {
	fs, ok := proc()
	if !ok {
		return "memory unknown"
	}
	m, err := fs.Meminfo()
	if err != nil || m.MemTotalBytes == nil {
		return "memory unknown"
	}
	return fmt.Sprintf("%.1f GiB RAM", float64(*m.MemTotalBytes)/(1<<30))
}

// LoadAverage is the machine's load average over 1, 5 and 15 minutes, as
// /proc/loadavg spells it ("" when unknown).
func LoadAverage() string {
	fs, ok := proc()
	if !ok {
		return ""
	}
	l, err := fs.LoadAvg()
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%.2f %.2f %.2f", l.Load1, l.Load5, l.Load15)
}

// OSName is the PRETTY_NAME of /etc/os-release, else the GOOS.
func OSName() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return runtime.GOOS
}

// Cores renders sec CPU-seconds over wall: "12.3s (1.54)", the seconds and
// the average number of cores busy.
func Cores(sec float64, wall time.Duration) string {
	if wall <= 0 {
		return fmt.Sprintf("%.1fs", sec)
	}
	return fmt.Sprintf("%.1fs (%.2f)", sec, sec/wall.Seconds())
}

// Processes is a snapshot of the machine's processes: each one's parent,
// command name and resident memory, for sums over process trees.
type Processes struct {
	children map[int][]int
	comm     map[int]string
	rss      map[int]int64
	// pss is each process's proportional share of its memory: a page
	// shared by n processes counts 1/n in each (a class-data archive that
	// every Cassandra JVM maps), so that sums do not count it n times.
	pss map[int]int64
}

// ReadProcesses reads every process in /proc (an empty snapshot without
// one).
func ReadProcesses() Processes {
	ps := Processes{children: map[int][]int{}, comm: map[int]string{}, rss: map[int]int64{}, pss: map[int]int64{}}
	fs, ok := proc()
	if !ok {
		return ps
	}
	all, err := fs.AllProcs()
	if err != nil {
		return ps
	}
	for _, p := range all {
		st, err := p.Stat()
		if err != nil {
			continue
		}
		ps.children[st.PPID] = append(ps.children[st.PPID], p.PID)
		ps.comm[p.PID] = st.Comm
		if s, err := p.NewStatus(); err == nil {
			ps.rss[p.PID] = int64(s.VmRSS)
		}
		if s, err := p.ProcSMapsRollup(); err == nil {
			ps.pss[p.PID] = int64(s.Pss)
		}
	}
	return ps
}

// TreeRSS is the resident memory of process pid and of every process under
// it (a container's whole process tree, or a local server's one process).
func (ps Processes) TreeRSS(pid int) int64 { return ps.tree(ps.rss, pid) }

// TreePSS is TreeRSS in proportional shares (see Processes.pss).
func (ps Processes) TreePSS(pid int) int64 { return ps.tree(ps.pss, pid) }

func (ps Processes) tree(of map[int]int64, pid int) int64 {
	if pid <= 0 {
		return 0
	}
	total := of[pid]
	for _, c := range ps.children[pid] {
		total += ps.tree(of, c)
	}
	return total
}

// RSSOf is the resident memory of every process whose command name is one
// of names, with how many there are.
func (ps Processes) RSSOf(names ...string) (int64, int) {
	var total int64
	n := 0
	for pid, comm := range ps.comm {
		for _, name := range names {
			if comm == name {
				total += ps.rss[pid]
				n++
			}
		}
	}
	return total, n
}
