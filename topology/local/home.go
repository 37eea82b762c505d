package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// A kong home holds a marker file beside its worlds folder, and every
// world's state folder holds a marker naming its world. kong writes and
// removes only inside a home it marked, and removes only state folders it
// marked: a mistyped --home or a hostile world name meets a refusal, never
// a deletion.
const (
	homeMarker  = ".kong-home"
	worldMarker = ".kong-world"
)

// ErrNotKongHome: a --home (or $KONG_HOME) that is not a folder kong made.
var ErrNotKongHome = errors.New("not a kong home")

// ErrNotWorldFolder: a state folder that kong did not make, or that is not
// where a world's state folder belongs.
var ErrNotWorldFolder = errors.New("not a kong world's state folder")

// Home is the folder that holds state folders: $KONG_HOME, else ~/.kong.
// It is empty when neither is known; PrepareHome and CheckHome then say to
// set KONG_HOME.
func Home() string {
	if h := os.Getenv("KONG_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".kong")
	}
	return ""
}

// StateDir is a world's state folder. Callers check the name first
// (topology.CheckWorldName); StateDir itself only joins.
func StateDir(home, name string) string { return filepath.Join(home, "worlds", name) }

// PrepareHome makes home ready to hold worlds: it creates it (private to
// the user) with its marker, or adopts a folder that is new, empty or holds
// nothing but a worlds folder. Any other folder is refused.
func PrepareHome(home string) error {
	if home == "" {
		return fmt.Errorf("%w: no home folder is known: set KONG_HOME (or HOME)", ErrNotKongHome)
	}
	if err := CheckHome(home); err == nil {
		return nil
	}
	info, err := os.Lstat(home)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(home, 0o700); err != nil {
			return fmt.Errorf("create kong home %s: %w (set KONG_HOME or --home to a writable folder)", home, err)
		}
	case err != nil:
		return fmt.Errorf("kong home %s: %w", home, err)
	case !info.IsDir():
		return fmt.Errorf("%w: %s is not a folder (a symlink or a file): point --home or KONG_HOME at a folder of kong's own", ErrNotKongHome, home)
	default:
		entries, err := os.ReadDir(home)
		if err != nil {
			return fmt.Errorf("kong home %s: %w", home, err)
		}
		var others []string
		for _, e := range entries {
			if e.Name() != "worlds" && e.Name() != homeMarker {
				others = append(others, e.Name())
			}
		}
		if len(others) > 0 {
			if len(others) > 3 {
				others = append(others[:3], "...")
			}
			return fmt.Errorf("%w: %s already holds %s and no %s marker; kong keeps worlds only in a folder of its own: point --home or KONG_HOME at a new or empty folder",
				ErrNotKongHome, home, strings.Join(others, ", "), homeMarker)
		}
	}
	if err := os.MkdirAll(filepath.Join(home, "worlds"), 0o700); err != nil {
		return fmt.Errorf("create %s: %w (set KONG_HOME to a writable folder)", filepath.Join(home, "worlds"), err)
	}
	return writeNew(filepath.Join(home, homeMarker), "kong home: world state lives in worlds/\n")
}

// CheckHome accepts a folder that PrepareHome made: a real folder (not a
// symlink) holding kong's marker.
func CheckHome(home string) error {
	if home == "" {
		return fmt.Errorf("%w: no home folder is known: set KONG_HOME (or HOME)", ErrNotKongHome)
	}
	info, err := os.Lstat(home)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotKongHome, home, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: %s is not a folder (a symlink or a file): point --home or KONG_HOME at the folder itself", ErrNotKongHome, home)
	}
	if m, err := os.Lstat(filepath.Join(home, homeMarker)); err != nil || !m.Mode().IsRegular() {
		return fmt.Errorf("%w: %s holds no %s marker (kong made no worlds there): check --home and KONG_HOME", ErrNotKongHome, home, homeMarker)
	}
	return nil
}

// markWorld writes the marker that lets DownWorld remove the folder later.
func markWorld(dir, name string) error {
	return writeNew(filepath.Join(dir, worldMarker), "kong world "+name+"\n")
}

// checkWorldFolder accepts dir for removal only when it is the state folder
// of world name in home: a real folder directly inside home/worlds, holding
// the marker that names that world.
func checkWorldFolder(home, name, dir string) error {
	if dir != StateDir(home, name) || filepath.Dir(dir) != filepath.Join(home, "worlds") {
		return fmt.Errorf("%w: %s is not %s", ErrNotWorldFolder, dir, StateDir(home, name))
	}
	info, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotWorldFolder, dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: %s is a symlink or a file, not a folder kong made; remove it yourself if it should go", ErrNotWorldFolder, dir)
	}
	data, err := os.ReadFile(filepath.Join(dir, worldMarker))
	if err != nil || strings.TrimSpace(string(data)) != "kong world "+name {
		return fmt.Errorf("%w: %s holds no %s marker for world %s, so kong will not remove it; remove it yourself if it should go", ErrNotWorldFolder, dir, worldMarker, name)
	}
	return nil
}

// writeNew writes a small file that must not exist yet, or replaces one
// that is a regular file; it never follows a symlink.
func writeNew(path, content string) error {
	if info, err := os.Lstat(path); err == nil && !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file: remove it", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(content)
	return errors.Join(werr, f.Close())
}

// checkReusable accepts a state folder that is missing, or that kong made
// (its marker, or only the owner lock of a start that died early): claim
// empties it, so it must never be a folder of someone else's.
func checkReusable(home, name, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		if _, lerr := os.Lstat(dir); lerr == nil {
			return fmt.Errorf("%w: %s is a dangling symlink; remove it", ErrNotWorldFolder, dir)
		}
		return nil
	}
	if len(entries) == 0 || len(entries) == 1 && entries[0].Name() == ownerLock {
		if info, lerr := os.Lstat(dir); lerr == nil && info.IsDir() {
			return nil
		}
	}
	return checkWorldFolder(home, name, dir)
}
