package output

import (
	"github.com/kongchaos/kong/app/director"
	"github.com/kongchaos/kong/harness/fault/preflight"
	"github.com/kongchaos/kong/topology"
)

// StatusSchema names the document of kong status --json.
const StatusSchema = "kong.status/v1"

// Status is the document of kong status --json: a world's components and
// its fault state, as kong status shows them.
type Status struct {
	Schema       string      `json:"schema"`
	World        string      `json:"world"`
	Backend      string      `json:"backend"`
	ToxiproxyAPI string      `json:"toxiproxy_api"`
	Components   []Component `json:"components"`
	FaultState   FaultState  `json:"fault_state"`
}

// Component is a component of the world (topology.Status) and its health:
// "ok" or "not answering" for a running one on the local backend (its
// address was dialled), else its state.
type Component struct {
	ID      string            `json:"id"`
	Kind    string            `json:"kind"`
	Region  string            `json:"region"`
	Zone    string            `json:"zone"`
	Address string            `json:"address"`
	Extra   map[string]string `json:"extra"`
	PID     int               `json:"pid"`
	State   topology.State    `json:"state"`
	Health  string            `json:"health"`
	Log     string            `json:"log"`
}

// FaultState is the world's fault state (preflight.State). Summary is
// clean (as brought up), not_clean (Findings lists what differs: what the
// next kong run resets) or unknown (some of it could not be read: Unread
// says what).
type FaultState struct {
	Summary  string                   `json:"summary"`
	Findings []string                 `json:"findings"`
	Unread   []string                 `json:"unread"`
	Links    []Link                   `json:"links"`
	Gateways []preflight.GatewayState `json:"gateways"`
	// Director is the director's routing table; null when no director
	// answered.
	Director *director.Table `json:"director"`
}

// Link is a cross-region link's proxies at toxiproxy (preflight.LinkState):
// State is ok, cut (every proxy disabled) or partly_cut.
type Link struct {
	Name     string   `json:"name"`
	State    string   `json:"state"`
	Proxies  int      `json:"proxies"`
	Disabled int      `json:"disabled"`
	Toxics   []string `json:"toxics"`
}

// Fault state summaries.
const (
	SummaryClean    = "clean"
	SummaryNotClean = "not_clean"
	SummaryUnknown  = "unknown"
)

// NewStatus is the document of world on backend: its components, each
// with its health (health(c); nil: its state), and its fault state st.
func NewStatus(world, backend, toxiproxyAPI string, comps []topology.Status, health func(topology.Status) string, st preflight.State) Status {
	doc := Status{Schema: StatusSchema, World: world, Backend: backend, ToxiproxyAPI: toxiproxyAPI, Components: []Component{}}
	for _, c := range comps {
		h := string(c.State)
		if health != nil {
			h = health(c)
		}
		extra := c.Extra
		if extra == nil {
			extra = map[string]string{}
		}
		doc.Components = append(doc.Components, Component{ID: c.ID, Kind: c.Kind, Region: c.Region, Zone: c.Zone, Address: c.Address,
			Extra: extra, PID: c.PID, State: c.State, Health: h, Log: c.Log})
	}
	fs := FaultState{Summary: SummaryClean, Findings: orEmpty(st.Findings), Unread: orEmpty(st.Unread), Links: []Link{},
		Gateways: orEmpty(st.Gateways), Director: st.Director}
	switch {
	case len(st.Findings) > 0:
		fs.Summary = SummaryNotClean
	case len(st.Unread) > 0:
		fs.Summary = SummaryUnknown
	}
	for _, l := range st.Links {
		state := "partly_cut"
		switch l.Disabled {
		case 0:
			state = "ok"
		case l.Proxies:
			state = "cut"
		}
		fs.Links = append(fs.Links, Link{Name: l.Name, State: state, Proxies: l.Proxies, Disabled: l.Disabled, Toxics: orEmpty(l.Toxics)})
	}
	doc.FaultState = fs
	return doc
}
