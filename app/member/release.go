package member

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Release is a version of the member service: its name and the defects it
// carries from its start. A world deploys a release to an instance by
// writing it beside the instance's configuration (ReleaseFile) and
// restarting the instance; `kong serve member` reads it (ReadReleaseBeside).
//
// A release's defects are not faults: the admin API's faults are set and
// cleared at run time (a game day's fault, a preflight's reset) and come on
// top of them, while a defect stays until another release replaces it.
type Release struct {
	Version string `json:"version"`
	Defects Faults `json:"defects,omitzero"`
}

// BaseVersion is the release an instance runs when none was deployed to it.
const BaseVersion = "v1"

// ReleaseFile is the name of the release file beside an instance's
// configuration.
const ReleaseFile = "release.json"

// Validate refuses a release without a version or with defects out of
// range.
func (r Release) Validate() error {
	if r.Version == "" {
		return errors.New("release: version is empty")
	}
	if err := validName(r.Version); err != nil {
		return fmt.Errorf("release: version %q: %w", r.Version, err)
	}
	if err := r.Defects.Validate(); err != nil {
		return fmt.Errorf("release %s: defects: %w", r.Version, err)
	}
	return nil
}

// validName allows the letters, digits and ".-_+" of a version name, at
// most 64 of them.
func validName(v string) error {
	if len(v) > 64 {
		return errors.New("longer than 64 characters")
	}
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_', c == '+':
		default:
			return fmt.Errorf("character %q: use letters, digits and .-_+", c)
		}
	}
	return nil
}

// ReadReleaseBeside reads the release file beside configFile; without one
// the instance runs BaseVersion with no defects.
func ReadReleaseBeside(configFile string) (Release, error) {
	path := filepath.Join(filepath.Dir(configFile), ReleaseFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Release{Version: BaseVersion}, nil
	}
	if err != nil {
		return Release{}, fmt.Errorf("read release: %w", err)
	}
	var r Release
	if err := json.Unmarshal(data, &r); err != nil {
		return Release{}, fmt.Errorf("release file %s: %w (write it as {\"version\": \"v2\", \"defects\": {\"error_rate\": 0.3}})", path, err)
	}
	if err := r.Validate(); err != nil {
		return Release{}, fmt.Errorf("release file %s: %w", path, err)
	}
	return r, nil
}

// WriteReleaseBeside stores r beside configFile, for the instance's next
// start.
func WriteReleaseBeside(configFile string, r Release) error {
	data, err := r.Encode()
	if err != nil {
		return err
	}
	path := filepath.Join(filepath.Dir(configFile), ReleaseFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write release: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write release: %w", err)
	}
	return nil
}

// Encode is the release file's content for r, refused when r is not valid.
func (r Release) Encode() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// With is f with g on top: rates drawn independently (a request escapes
// both only when it escapes each), delays added, g's slow reads and
// consistency levels where g sets them, switches on when either has them.
func (f Faults) With(g Faults) Faults {
	either := func(a, b float64) float64 {
		if a == 0 || b == 0 {
			return a + b // exactly the one set
		}
		return 1 - (1-a)*(1-b)
	}
	out := f
	out.ErrorRate = either(f.ErrorRate, g.ErrorRate)
	out.LatencyMS = min(f.LatencyMS+g.LatencyMS, MaxFaultMS)
	if g.SlowRate > 0 || g.SlowMS > 0 {
		out.SlowRate, out.SlowMS = g.SlowRate, g.SlowMS
	}
	if g.WriteConsistency != "" {
		out.WriteConsistency = g.WriteConsistency
	}
	if g.ReadConsistency != "" {
		out.ReadConsistency = g.ReadConsistency
	}
	out.DropWriteRate = either(f.DropWriteRate, g.DropWriteRate)
	out.WrongMemberRate = either(f.WrongMemberRate, g.WrongMemberRate)
	out.NoInvalidations = f.NoInvalidations || g.NoInvalidations
	out.NoReplication = f.NoReplication || g.NoReplication
	out.CacheOneZone = f.CacheOneZone || g.CacheOneZone
	out.VolatileOutbox = f.VolatileOutbox || g.VolatileOutbox
	return out
}
