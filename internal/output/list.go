package output

import "github.com/kongchaos/kong/scenarios"

// ListSchema names the document of kong list --json.
const ListSchema = "kong.list/v1"

// List is the document of kong list --json: the registered scenarios.
type List struct {
	Schema    string     `json:"schema"`
	Scenarios []Scenario `json:"scenarios"`
}

// Scenario is one registered scenario (scenarios.Spec).
type Scenario struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Profile     string  `json:"profile"`
	MinRegions  int     `json:"min_regions"`
	TimeoutS    float64 `json:"timeout_s"`
	// Short marks the scenarios that go test -short runs.
	Short bool `json:"short"`
	// Broken are the scenario's broken worlds, each with the checker that
	// must catch it.
	Broken []BrokenWorld `json:"broken_worlds"`
}

// BrokenWorld is a broken-world variant of a scenario (scenarios.Variant).
type BrokenWorld struct {
	Name    string `json:"name"`
	Broken  string `json:"broken"`
	Checker string `json:"checker"`
}

// NewList is the document of specs (scenarios.All() for kong list).
func NewList(specs []scenarios.Spec) List {
	l := List{Schema: ListSchema, Scenarios: []Scenario{}}
	for _, s := range specs {
		sc := Scenario{Name: s.Name, Description: s.Description, Profile: s.Profile, MinRegions: s.MinRegions,
			TimeoutS: s.Timeout.Seconds(), Short: s.Short, Broken: []BrokenWorld{}}
		for _, v := range s.Broken {
			sc.Broken = append(sc.Broken, BrokenWorld{Name: v.Name, Broken: v.Broken, Checker: v.Checker})
		}
		l.Scenarios = append(l.Scenarios, sc)
	}
	return l
}
