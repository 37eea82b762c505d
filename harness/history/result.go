package history

// Verdict is a checker's judgement: valid, invalid or unknown. When verdicts
// are composed the worst wins: invalid over unknown over valid. Verdicts and
// results are declared here, beside the history they judge, because run.json
// (RunInfo) records them; package check produces them.
type Verdict string

const (
	VerdictValid   Verdict = "valid"
	VerdictUnknown Verdict = "unknown"
	VerdictInvalid Verdict = "invalid"
)

func (v Verdict) rank() int {
	switch v {
	case VerdictValid:
		return 0
	case VerdictUnknown:
		return 1
	}
	return 2
}

// Worst returns the worse of two verdicts.
func Worst(a, b Verdict) Verdict {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Result is a checker's verdict with its reasons and key figures.
type Result struct {
	Checker string             `json:"checker"`
	Valid   Verdict            `json:"valid"`
	Reason  string             `json:"reason"`
	Figures map[string]float64 `json:"figures,omitempty"`
	// Details are short lines an engineer reads to see why (the worst
	// offenders, the phase that broke it).
	Details []string `json:"details,omitempty"`
	// Children holds the results of composed checkers.
	Children []Result `json:"children,omitempty"`
}
