package reports

import (
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// SchemaVersion is the version of the report.json model; it changes when a
// field changes meaning or disappears (not when one is added).
const SchemaVersion = 1

// Report is a run's report, computed from its artifacts directory only.
// Times are UTC. Lists are never null in JSON (empty lists are []), and
// optional instants and ratios are null when unknown.
type Report struct {
	Schema int `json:"schema"`
	// Run is run.json as written, except that its Checkers are moved to
	// Report.Checkers (Run.Figures stay, and are also merged into Figures).
	Run history.RunInfo `json:"run"`
	// Status is the run's status, derived when run.json did not say (see
	// Notes); Reason says why the run stopped (why it was not passed).
	Status history.Status `json:"status"`
	Reason string         `json:"reason"`
	// Verdict is the worst of the checker results; unknown when there are
	// none.
	Verdict  history.Verdict  `json:"verdict"`
	Checkers []history.Result `json:"checkers"`
	// Start and End bound the run: run.json's Started/Finished, widened to
	// the first and last record of the history.
	Start     time.Time    `json:"start"`
	End       time.Time    `json:"end"`
	DurationS float64      `json:"duration_s"`
	History   HistoryStats `json:"history"`
	// Phases run from their PhaseStart event to the next one; the last
	// one ends with the run.
	Phases  []history.PhaseWindow `json:"phases"`
	Faults  []Fault               `json:"faults"`
	Traffic []history.Event       `json:"traffic"`
	// Events are the timeline's other events: aborts and notes.
	Events []history.Event `json:"events"`
	Series Series          `json:"series"`
	// PhaseFigures are the key figures of each phase, all regions pooled and
	// per region, in timeline order.
	PhaseFigures []PhaseFigures `json:"phase_figures"`
	// Figures are flat key figures: "requests", "shed", "availability",
	// "availability.<region>.<phase>", "latency_p99_ms.<phase>", then
	// every figure of run.json copied through (a computed figure wins over
	// one of the same name).
	Figures     map[string]float64   `json:"figures"`
	Replication *history.Replication `json:"replication,omitempty"`
	// Notes list what was missing or odd in the artifacts (no checker
	// results, a truncated history, ...).
	Notes []string `json:"notes"`
}

// HistoryStats describes the history the report was built from.
type HistoryStats struct {
	// Present is false when history.jsonl was missing or unreadable.
	Present bool `json:"present"`
	Ops     int  `json:"ops"`
	Events  int  `json:"events"`
	// Operations are invokes paired with completions; Completed of them
	// have a completion, Pending do not (in flight when the run stopped),
	// Orphans are completions whose invoke was not recorded; Probes are
	// harness read-backs (left out of every figure).
	Operations int `json:"operations"`
	Completed  int `json:"completed"`
	Pending    int `json:"pending"`
	Orphans    int `json:"orphans"`
	Probes     int `json:"probes"`
	// BadLines counts lines that could not be read and were skipped;
	// Truncated is set when the last line was cut short (a killed run).
	BadLines  int  `json:"bad_lines"`
	Truncated bool `json:"truncated"`
}

// Fault is one injection of a fault on a target, paired from its events by
// name and target: FaultInject (Inject), FaultEffect (Injected),
// FaultRecover (Recover) and FaultHealed (Recovered). An instant not seen in
// the history is null, and so is a delay that needs it. Each FaultInject
// starts a new injection; each other event goes to the earliest injection of
// the same name and target still waiting for it (a repeated event, such as a
// retried recovery, keeps the first time). Detail merges the events' details,
// the earliest first.
type Fault struct {
	Name      string     `json:"name"`
	Target    string     `json:"target"`
	Inject    *time.Time `json:"inject"`
	Injected  *time.Time `json:"injected"`
	Recover   *time.Time `json:"recover"`
	Recovered *time.Time `json:"recovered"`
	// TimeToEffectS is Injected - Inject; TimeToHealS is Recovered - Recover.
	TimeToEffectS *float64          `json:"time_to_effect_s"`
	TimeToHealS   *float64          `json:"time_to_heal_s"`
	Detail        map[string]string `json:"detail,omitempty"`
}

// Counts are completed user operations (probes and pending invokes are
// never counted). OK, Fail and Info split Requests by completion type; Shed,
// Redirected, Proxied and CacheHits are flags counted among them (a shed
// request is also a fail). Reads counts the user reads among Requests, the
// denominator of a cache hit rate (added in schema 1: absent, hence 0, in
// reports written before it).
type Counts struct {
	Requests   int `json:"requests"`
	OK         int `json:"ok"`
	Fail       int `json:"fail"`
	Info       int `json:"info"`
	Shed       int `json:"shed"`
	Redirected int `json:"redirected"`
	Proxied    int `json:"proxied"`
	CacheHits  int `json:"cache_hits"`
	Reads      int `json:"reads"`
}

// Availability is OK / (OK + Fail + Info), or nil without requests.
func (c Counts) Availability() *float64 {
	if c.Requests == 0 {
		return nil
	}
	v := float64(c.OK) / float64(c.Requests)
	return &v
}

// Series are per-second counts of completed user operations, bucketed by
// completion time: second T covers [Start+T s, Start+T+1 s). Each region's
// Points and Global have one entry per second, T = 0..Seconds-1.
//
// An operation's region is the region the director sent it to (its Entry)
// when recorded, else the region that served it; "-" when neither is known.
type Series struct {
	Start   time.Time      `json:"start"`
	StepS   float64        `json:"step_s"`
	Seconds int            `json:"seconds"`
	Regions []RegionSeries `json:"regions"`
	Global  []GlobalPoint  `json:"global"`
}

// RegionSeries is one region's per-second series.
type RegionSeries struct {
	Region string  `json:"region"`
	Points []Point `json:"points"`
}

// Point is one second of one region. Latency percentiles (nearest rank) are
// over the requests that completed ok and were not shed, corrected for
// coordinated omission as recorded; 0 when there were none.
type Point struct {
	T int `json:"t"`
	Counts
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// GlobalPoint is one second of all regions: the success rate is OK /
// Requests, null in a second without requests.
type GlobalPoint struct {
	T           int      `json:"t"`
	Requests    int      `json:"requests"`
	OK          int      `json:"ok"`
	SuccessRate *float64 `json:"success_rate"`
}

// PhaseFigures are one phase's key figures. An operation's phase is its
// recorded phase, else the phase under way when it was invoked ("-" before
// the first phase). Availability is OK/(OK+Fail+Info); latencies are over
// ok, non-shed requests; each is null when there is nothing to measure.
type PhaseFigures struct {
	Phase string `json:"phase"`
	GroupFigures
	Regions []RegionFigures `json:"regions"`
}

// RegionFigures are one region's key figures in a phase.
type RegionFigures struct {
	Region string `json:"region"`
	GroupFigures
}

// GroupFigures are the key figures of a group of operations (a phase, or a
// region in it): their counts, availability and latencies.
type GroupFigures struct {
	Counts
	Availability *float64 `json:"availability"`
	P50Ms        *float64 `json:"p50_ms"`
	P99Ms        *float64 `json:"p99_ms"`
}

// LeafCheckers returns the checker results with composed results (those
// with Children, such as check.Compose's "all") replaced by their
// children, recursively, in order.
func (r *Report) LeafCheckers() []history.Result { return leaves(r.Checkers) }

func leaves(rs []history.Result) []history.Result {
	var out []history.Result
	for _, c := range rs {
		if len(c.Children) > 0 {
			out = append(out, leaves(c.Children)...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// Rel returns t in seconds since the start of the run.
func (r *Report) Rel(t time.Time) float64 { return t.Sub(r.Start).Seconds() }
