package topology

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrWorldName marks a world name that kong refuses. Every command, backend
// and API that takes a world name checks it with CheckWorldName before the
// name reaches a path, a container label or a network name.
var ErrWorldName = errors.New("invalid world name")

// MaxWorldName is the longest world name.
const MaxWorldName = 40

// CheckWorldName accepts 1 to 40 lower-case ASCII letters, digits and
// dashes, starting with a letter or a digit: a name that is safe as one
// path element, a Docker name and a DNS label, and can never be ".", ".."
// or hold a separator.
func CheckWorldName(name string) error {
	problem := ""
	switch {
	case name == "":
		problem = "it is empty"
	case len(name) > MaxWorldName:
		problem = fmt.Sprintf("it is %d bytes long, more than %d", len(name), MaxWorldName)
	case name[0] == '-':
		problem = "it starts with a dash"
	default:
		for i, r := range name {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				continue
			}
			if r == utf8.RuneError {
				problem = fmt.Sprintf("byte %d is not valid UTF-8", i)
			} else {
				problem = fmt.Sprintf("it holds %q at byte %d", r, i)
			}
			break
		}
	}
	if problem == "" {
		return nil
	}
	shown := name
	if len(shown) > 60 {
		shown = shown[:60] + "..."
	}
	return fmt.Errorf("%w %q: %s; a world name is 1 to %d lower-case letters, digits and dashes, not starting with a dash (such as kong or east-test)",
		ErrWorldName, shown, problem, MaxWorldName)
}

// DefaultWorldName is the name of a world nobody named.
const DefaultWorldName = "kong"

// CheckUp checks what any backend needs before it brings a world up: a
// name that CheckWorldName accepts (DefaultWorldName when empty), which it
// returns, and a spec.
func CheckUp(name string, spec *Spec) (string, error) {
	if name == "" {
		name = DefaultWorldName
	}
	if err := CheckWorldName(name); err != nil {
		return "", err
	}
	if spec == nil {
		return "", errors.New("no topology spec given")
	}
	return name, nil
}
