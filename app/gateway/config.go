package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kongchaos/kong/app"
)

// Defaults applied by New to zero values.
const (
	DefaultMemberTimeout  = 2 * time.Second
	DefaultIsthmusTimeout = 3 * time.Second
	DefaultHealthTimeout  = 1 * time.Second
	DefaultHealthInterval = 1 * time.Second
)

// Member is one member service instance of this gateway's region.
type Member struct {
	Zone     string `json:"zone"`
	Instance string `json:"instance"`
	// BaseURL is scheme://host:port of the instance, without a path.
	BaseURL string `json:"base_url"`
}

// Timeouts bound the gateway's outbound calls. Zero means the default.
type Timeouts struct {
	// Member bounds one member request, retry included (default 2 s).
	Member time.Duration `json:"member"`
	// MemberTry is the initial Dynamic.MemberTryMS (default half the
	// member timeout, leaving the other half to the retry): how long
	// one try of a read waits for an answer before it is abandoned and the
	// read retried on another instance. Turn it off at runtime
	// ({"member_try_ms": 0}).
	MemberTry time.Duration `json:"member_try"`
	// Isthmus bounds one request proxied to a peer gateway (default 3 s).
	Isthmus time.Duration `json:"isthmus"`
	// Health bounds one health check (default 1 s).
	Health time.Duration `json:"health"`
}

// Config is a gateway's configuration. Mode, Failover, MaxRPS and
// MaxConcurrency can be changed at runtime (PUT /admin/config, Update).
type Config struct {
	// AdminSecret, when set, guards the admin endpoints: they answer only
	// "Authorization: Bearer <AdminSecret>" (app.GuardAdmin).
	AdminSecret string `json:"admin_secret,omitempty"`
	// Region is the name of this gateway's region.
	Region string `json:"region"`
	// Members are this region's member instances (at least one).
	Members []Member `json:"members"`
	// PeerProxy maps a region to the base URL of its gateway as reached from
	// this region over the cross-region link (isthmus target).
	PeerProxy map[string]string `json:"peer_proxy"`
	// PeerPublic maps a region to the public base URL of its gateway, used in
	// the Location of a redirect. A region missing from one map falls back to
	// the other.
	PeerPublic map[string]string `json:"peer_public"`
	// Homes is the directional table: member geo -> home region.
	Homes map[string]string `json:"homes"`
	// Mode for mis-routed requests: app.ModeIsthmus (default) or app.ModeRedirect.
	Mode string `json:"mode"`
	// Failover: serve every request locally, whatever its home.
	Failover bool `json:"failover"`
	// MaxRPS is the maximum accepted request rate (0 = unlimited).
	MaxRPS int `json:"max_rps"`
	// MaxConcurrency is the maximum of user requests in flight (0 = unlimited).
	MaxConcurrency int      `json:"max_concurrency"`
	Timeouts       Timeouts `json:"timeouts"`
	// HealthInterval is the period of the active health check (default 1 s).
	HealthInterval time.Duration `json:"health_interval"`
	// Log receives health transitions and configuration changes (nil = discard).
	Log *slog.Logger `json:"-"`
}

// Dynamic is the part of the configuration that can change at runtime.
type Dynamic struct {
	Mode           string `json:"mode"`
	Failover       bool   `json:"failover"`
	MaxRPS         int    `json:"max_rps"`
	MaxConcurrency int    `json:"max_concurrency"`
	// HomeOverrides replace entries of the directional table (geo -> home
	// region) at runtime: an operator's correction, or a misconfiguration
	// on purpose (a geo's home pointed at the wrong region).
	HomeOverrides map[string]string `json:"home_overrides,omitempty"`
	// MemberTryMS bounds one try of a member read (GET, HEAD) until its
	// answer's headers: a read that has none by then is abandoned and sent
	// once to another instance, within the member timeout (Ribbon's read
	// timeout with one retry on the next server). A stalled instance then
	// costs a read one try, not the whole member timeout. 0: no try
	// timeout, a read waits for its instance until the member timeout.
	MemberTryMS int `json:"member_try_ms"`
	// IgnoreGeo serves every request here as if this region were its
	// home, whatever its X-Kong-Geo says, and marks the answer local (not
	// failover): a broken world, where a gateway claims a home answer for
	// users whose home is another region.
	IgnoreGeo bool `json:"ignore_geo,omitempty"`
}

func (d Dynamic) equal(o Dynamic) bool {
	return d.Mode == o.Mode && d.Failover == o.Failover && d.MaxRPS == o.MaxRPS &&
		d.MaxConcurrency == o.MaxConcurrency && maps.Equal(d.HomeOverrides, o.HomeOverrides) &&
		d.MemberTryMS == o.MemberTryMS && d.IgnoreGeo == o.IgnoreGeo
}

// Patch is a partial update of Dynamic; nil fields are left unchanged.
type Patch struct {
	Mode           *string `json:"mode,omitempty"`
	Failover       *bool   `json:"failover,omitempty"`
	MaxRPS         *int    `json:"max_rps,omitempty"`
	MaxConcurrency *int    `json:"max_concurrency,omitempty"`
	// HomeOverrides, when present, replaces every override ({} clears them).
	HomeOverrides *map[string]string `json:"home_overrides,omitempty"`
	MemberTryMS   *int               `json:"member_try_ms,omitempty"`
	IgnoreGeo     *bool              `json:"ignore_geo,omitempty"`
}

func (p Patch) empty() bool {
	return p.Mode == nil && p.Failover == nil && p.MaxRPS == nil && p.MaxConcurrency == nil && p.HomeOverrides == nil &&
		p.MemberTryMS == nil && p.IgnoreGeo == nil
}

// Has reports whether d holds every value p sets.
func (d Dynamic) Has(p Patch) bool {
	return (p.Mode == nil || *p.Mode == d.Mode) && (p.Failover == nil || *p.Failover == d.Failover) &&
		(p.MaxRPS == nil || *p.MaxRPS == d.MaxRPS) && (p.MaxConcurrency == nil || *p.MaxConcurrency == d.MaxConcurrency) &&
		(p.HomeOverrides == nil || maps.Equal(*p.HomeOverrides, d.HomeOverrides)) &&
		(p.MemberTryMS == nil || *p.MemberTryMS == d.MemberTryMS) && (p.IgnoreGeo == nil || *p.IgnoreGeo == d.IgnoreGeo)
}

// Patch is the patch that puts every runtime setting back to d (its home
// overrides too: none clears them).
func (d Dynamic) Patch() Patch {
	homes := maps.Clone(d.HomeOverrides)
	if homes == nil {
		homes = map[string]string{}
	}
	return Patch{Mode: &d.Mode, Failover: &d.Failover, MaxRPS: &d.MaxRPS, MaxConcurrency: &d.MaxConcurrency,
		HomeOverrides: &homes, MemberTryMS: &d.MemberTryMS, IgnoreGeo: &d.IgnoreGeo}
}

// String lists the settings p changes, such as "mode=redirect failover=false".
func (p Patch) String() string {
	var parts []string
	if p.Mode != nil {
		parts = append(parts, "mode="+*p.Mode)
	}
	if p.Failover != nil {
		parts = append(parts, "failover="+strconv.FormatBool(*p.Failover))
	}
	if p.MaxRPS != nil {
		parts = append(parts, "max_rps="+strconv.Itoa(*p.MaxRPS))
	}
	if p.MaxConcurrency != nil {
		parts = append(parts, "max_concurrency="+strconv.Itoa(*p.MaxConcurrency))
	}
	if p.HomeOverrides != nil {
		parts = append(parts, fmt.Sprintf("home_overrides=%v", *p.HomeOverrides))
	}
	if p.MemberTryMS != nil {
		parts = append(parts, "member_try_ms="+strconv.Itoa(*p.MemberTryMS))
	}
	if p.IgnoreGeo != nil {
		parts = append(parts, "ignore_geo="+strconv.FormatBool(*p.IgnoreGeo))
	}
	return strings.Join(parts, " ")
}

// MaxLevel bounds max_rps and max_concurrency: a limit above it is no limit
// (use 0), and would overflow the token bucket's arithmetic.
const MaxLevel = 1_000_000_000

// MaxHomeOverrides bounds the number of home overrides.
const MaxHomeOverrides = 10_000

// maxGeoLen bounds the length of a geo name in an override, in bytes.
const maxGeoLen = 128

// apply returns d with p applied, or a validation error. A home override
// must name this gateway's region or one it has an address for (the others
// could not be routed to), and the try timeout must be within the member
// timeout of c (a normalized config).
func (d Dynamic) apply(p Patch, c *Config) (Dynamic, error) {
	var errs []error
	if p.Mode != nil {
		if err := validMode(*p.Mode); err != nil {
			errs = append(errs, err)
		}
		d.Mode = *p.Mode
	}
	if p.Failover != nil {
		d.Failover = *p.Failover
	}
	if p.IgnoreGeo != nil {
		d.IgnoreGeo = *p.IgnoreGeo
	}
	if p.MaxRPS != nil {
		if err := validLevel("max_rps", *p.MaxRPS); err != nil {
			errs = append(errs, err)
		}
		d.MaxRPS = *p.MaxRPS
	}
	if p.MaxConcurrency != nil {
		if err := validLevel("max_concurrency", *p.MaxConcurrency); err != nil {
			errs = append(errs, err)
		}
		d.MaxConcurrency = *p.MaxConcurrency
	}
	if p.MemberTryMS != nil {
		if limit := c.Timeouts.Member.Milliseconds(); *p.MemberTryMS < 0 || int64(*p.MemberTryMS) > limit {
			errs = append(errs, fmt.Errorf("member_try_ms must be in 0..%d (0 = no try timeout; at most the member timeout, %s), got %d",
				limit, c.Timeouts.Member, *p.MemberTryMS))
		}
		d.MemberTryMS = *p.MemberTryMS
	}
	if p.HomeOverrides != nil {
		d.HomeOverrides = nil
		if n := len(*p.HomeOverrides); n > MaxHomeOverrides {
			errs = append(errs, fmt.Errorf("home_overrides: %d overrides, more than %d", n, MaxHomeOverrides))
		}
		geos := make([]string, 0, len(*p.HomeOverrides))
		for geo := range *p.HomeOverrides {
			geos = append(geos, geo)
		}
		sort.Strings(geos) // the same errors in the same order every time
		for _, geo := range geos {
			region := (*p.HomeOverrides)[geo]
			switch {
			case geo == "" || region == "":
				errs = append(errs, fmt.Errorf("home_overrides: empty geo or region in %q: %q", geo, region))
				continue
			case len(geo) > maxGeoLen || !utf8.ValidString(geo):
				errs = append(errs, fmt.Errorf("home_overrides: geo %.40q is not valid UTF-8 of at most %d bytes", geo, maxGeoLen))
				continue
			case region != c.Region && c.PeerProxy[region] == "":
				errs = append(errs, fmt.Errorf("home_overrides[%s] = %.40q: not this region (%s) nor one with a gateway address (%s)",
					geo, region, c.Region, strings.Join(slices.Sorted(maps.Keys(c.PeerProxy)), ", ")))
				continue
			}
			if d.HomeOverrides == nil {
				d.HomeOverrides = map[string]string{}
			}
			d.HomeOverrides[geo] = region
		}
	}
	if len(errs) == 0 {
		return d, nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return d, errors.New(strings.Join(msgs, "; "))
}

func validLevel(name string, v int) error {
	if v < 0 || v > MaxLevel {
		return fmt.Errorf("%s must be in 0..%d (0 = unlimited), got %d", name, MaxLevel, v)
	}
	return nil
}

func validMode(m string) error {
	if m == app.ModeIsthmus || m == app.ModeRedirect {
		return nil
	}
	return fmt.Errorf("mode must be %q or %q, got %q", app.ModeIsthmus, app.ModeRedirect, m)
}

// burstFor is the token bucket depth for a rate: ceil(rate/10), at least 1.
func burstFor(rate int) int {
	return max(1, (rate+9)/10)
}

// normalize validates c and fills in defaults. It returns a copy.
func (c Config) normalize() (Config, error) {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	c.Region = strings.TrimSpace(c.Region)
	if c.Region == "" {
		fail("region is required")
	}
	if c.Mode == "" {
		c.Mode = app.ModeIsthmus
	}
	if err := validMode(c.Mode); err != nil {
		errs = append(errs, err)
	}
	if err := validLevel("max_rps", c.MaxRPS); err != nil {
		errs = append(errs, err)
	}
	if err := validLevel("max_concurrency", c.MaxConcurrency); err != nil {
		errs = append(errs, err)
	}
	def := func(name string, d *time.Duration, v time.Duration) {
		switch {
		case *d < 0:
			fail("%s must be > 0, got %s", name, *d)
		case *d == 0:
			*d = v
		}
	}
	def("timeouts.member", &c.Timeouts.Member, DefaultMemberTimeout)
	def("timeouts.member_try", &c.Timeouts.MemberTry, c.Timeouts.Member/2)
	def("timeouts.isthmus", &c.Timeouts.Isthmus, DefaultIsthmusTimeout)
	def("timeouts.health", &c.Timeouts.Health, DefaultHealthTimeout)
	def("health_interval", &c.HealthInterval, DefaultHealthInterval)

	if len(c.Members) == 0 {
		fail("at least one member instance is required")
	}
	c.Members = append([]Member(nil), c.Members...)
	seen := map[string]bool{}
	hosts := map[string]string{}
	for i, m := range c.Members {
		where := fmt.Sprintf("members[%d]", i)
		if m.Zone == "" {
			fail("%s: zone is required", where)
		}
		if m.Instance == "" {
			fail("%s: instance is required", where)
		} else if seen[m.Instance] {
			fail("%s: duplicate instance id %q", where, m.Instance)
		}
		seen[m.Instance] = true
		u, err := parseBase(m.BaseURL, false)
		if err != nil {
			fail("%s (%s): base_url: %v", where, m.Instance, err)
			continue
		}
		if other, dup := hosts[u.Host]; dup {
			fail("%s (%s): base_url %s is also used by instance %q", where, m.Instance, m.BaseURL, other)
		}
		hosts[u.Host] = m.Instance
		c.Members[i].BaseURL = u.String()
	}

	proxy := map[string]string{}
	public := map[string]string{}
	for name, src := range map[string]map[string]string{"peer_proxy": c.PeerProxy, "peer_public": c.PeerPublic} {
		for region, raw := range src {
			if region == c.Region {
				continue // a gateway never proxies to itself
			}
			u, err := parseBase(raw, true)
			if err != nil {
				fail("%s[%s]: %v", name, region, err)
				continue
			}
			if name == "peer_proxy" {
				proxy[region] = u.String()
			} else {
				public[region] = u.String()
			}
		}
	}
	for region, u := range proxy {
		if _, ok := public[region]; !ok {
			public[region] = u
		}
	}
	for region, u := range public {
		if _, ok := proxy[region]; !ok {
			proxy[region] = u
		}
	}
	c.PeerProxy, c.PeerPublic = proxy, public

	homes := make(map[string]string, len(c.Homes))
	geos := make([]string, 0, len(c.Homes))
	for geo := range c.Homes {
		geos = append(geos, geo)
	}
	sort.Strings(geos)
	for _, geo := range geos {
		region := c.Homes[geo]
		switch {
		case region == "":
			fail("homes[%s]: empty region", geo)
		case region != c.Region && proxy[region] == "":
			fail("homes[%s] = %s, but no gateway address is configured for region %s (peer_proxy or peer_public)", geo, region, region)
		}
		homes[geo] = region
	}
	c.Homes = homes
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c, errors.Join(errs...)
}

func parseBase(raw string, allowPath bool) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%q: must not carry a query, fragment or user info", raw)
	}
	if !allowPath && u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("%q: must be scheme://host:port without a path", raw)
	}
	if !allowPath {
		u.Path, u.RawPath = "", ""
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
	}
	return u, nil
}
