package output

import "github.com/kongchaos/kong/harness/fault"

// FaultsSchema names the document of kong faults --json (and of kong
// faults NAME --json, which lists the one fault).
const FaultsSchema = "kong.faults/v1"

// Faults is the document of kong faults --json: the fault catalogue.
type Faults struct {
	Schema string  `json:"schema"`
	Faults []Fault `json:"faults"`
}

// Fault is one entry of the catalogue (fault.Entry).
type Fault struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Targets     []string `json:"targets"`
	Params      []Param  `json:"params"`
}

// Param is a parameter of a fault (fault.Param); Default is "" for a
// setting the fault leaves as it is.
type Param struct {
	Name    string `json:"name"`
	Default string `json:"default"`
	Help    string `json:"help"`
}

// NewFaults is the document of entries (fault.Catalogue() for kong
// faults).
func NewFaults(entries ...fault.Entry) Faults {
	d := Faults{Schema: FaultsSchema, Faults: []Fault{}}
	for _, e := range entries {
		f := Fault{Name: e.Name, Description: e.Description, Targets: []string{}, Params: []Param{}}
		for _, s := range e.Targets {
			f.Targets = append(f.Targets, string(s))
		}
		for _, p := range e.Params {
			f.Params = append(f.Params, Param{Name: p.Name, Default: p.Default, Help: p.Help})
		}
		d.Faults = append(d.Faults, f)
	}
	return d
}
