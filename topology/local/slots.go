package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kongchaos/kong/internal/flock"
	"github.com/kongchaos/kong/topology"
)

// The slot registry is shared by every user of the machine, so that worlds
// of different users and test packages never pick the same addresses. It
// is a sticky, world-writable folder (as /tmp is): every user may add a
// slot file and only its owner may remove it. kong never follows a symlink
// in it, never opens a FIFO or a device there, never writes into a file it
// did not create, and reads a slot it cannot claim as held: another user's
// stale slot sends kong to the next slot, not to an error.

// slotLockWait is how long kong waits for the registry's lock, which is
// held only while a slot is claimed or released.
var slotLockWait = 30 * time.Second

// SlotsDir is the machine-wide registry of slots: $KONG_SLOTS, else
// kong-slots in the system's temporary folder.
func SlotsDir() string {
	if d := os.Getenv("KONG_SLOTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "kong-slots")
}

// openSlots makes sure the registry is a real, sticky folder that no other
// user can swap for something else, creating it when missing.
func openSlots() (string, error) {
	slots := SlotsDir()
	if err := os.Mkdir(slots, 0o700); err == nil {
		// Ours: open it to everyone, sticky, so that each user removes only
		// their own slot files.
		if err := os.Chmod(slots, 0o777|os.ModeSticky); err != nil {
			return "", fmt.Errorf("slot registry %s: %w", slots, err)
		}
	} else if !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create slot registry %s: %w (set KONG_SLOTS to a folder of your own)", slots, err)
	}
	info, err := os.Lstat(slots)
	if err != nil {
		return "", fmt.Errorf("slot registry %s: %w", slots, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("slot registry %s is not a folder (a symlink or a file someone put there): remove it, or set KONG_SLOTS to a folder of your own", slots)
	}
	st := info.Sys().(*syscall.Stat_t)
	uid := uint32(os.Getuid())
	if info.Mode().Perm()&0o022 != 0 && info.Mode()&os.ModeSticky == 0 {
		if st.Uid != uid {
			return "", fmt.Errorf("slot registry %s is writable by others and not sticky, and belongs to user %d: any user could replace its files; remove it, or set KONG_SLOTS to a folder of your own", slots, st.Uid)
		}
		// An older kong made it without the sticky bit: mend it.
		if err := os.Chmod(slots, 0o777|os.ModeSticky); err != nil {
			return "", fmt.Errorf("slot registry %s: %w", slots, err)
		}
	}
	if st.Uid != uid && st.Uid != 0 {
		return "", fmt.Errorf("slot registry %s belongs to user %d, neither you nor root: set KONG_SLOTS to a folder of your own", slots, st.Uid)
	}
	return slots, nil
}

// openPlain opens an existing file for reading without following a
// symlink or blocking on a FIFO, and accepts only a regular file.
func openPlain(path string, flag int) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o644)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

func ownedByMe(info os.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Uid == uint32(os.Getuid())
}

// lockSlots takes the registry's lock, waiting a bounded time.
func lockSlots() (func(), error) {
	slots, err := openSlots()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(slots, ".lock")
	f, _, err := openPlain(path, os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
		if errors.Is(err, os.ErrExist) {
			f, _, err = openPlain(path, os.O_RDONLY)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("slot registry lock %s: %w (remove it if it is not a plain file, or set KONG_SLOTS to a folder of your own)", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), slotLockWait)
	defer cancel()
	if err := flock.Wait(ctx, f); err != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("the slot registry's lock %s has been held for %s (another kong claiming a slot, or a stuck process): find it with `fuser %s`, or set KONG_SLOTS to a folder of your own", path, slotLockWait, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// readSlot reads a slot file: its holder, whether this user owns the file,
// and whether it exists at all. A file kong cannot read safely (a symlink,
// a FIFO, unreadable) reads as held by someone else.
func readSlot(file string) (holder string, mine, exists bool) {
	f, info, err := openPlain(file, os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		if _, lerr := os.Lstat(file); lerr != nil {
			return "", false, false
		}
		return "", false, true // a dangling symlink
	}
	if err != nil {
		return "", false, true
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, 4096))
	return strings.TrimSpace(string(data)), ownedByMe(info), true
}

// claimSlot reserves a slot (an address range and a JMX port block) for the
// world in dir, starting from the one its name picks and skipping slots
// held by other live worlds or by files it cannot take. A slot file holds
// its world's state folder; the registry is changed only under its lock.
func claimSlot(dir, name string) (int, error) {
	unlock, err := lockSlots()
	if err != nil {
		return 0, err
	}
	defer unlock()
	slots := SlotsDir()
	first := topology.SlotFor(name)
	var held []string
	for i := 0; i < topology.Slots; i++ {
		slot := (first + i) % topology.Slots
		file := filepath.Join(slots, strconv.Itoa(slot))
		holder, mine, exists := readSlot(file)
		switch {
		case exists && mine && holder == dir:
			return slot, nil
		case exists && holder != "" && ownerAlive(holder):
			held = append(held, holder)
			continue
		case exists:
			// Stale, or not readable: only a file of ours is replaced.
			if !mine || os.Remove(file) != nil {
				held = append(held, file+" (not yours)")
				continue
			}
		}
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
		if err != nil {
			held = append(held, file+" ("+err.Error()+")")
			continue
		}
		_, werr := f.WriteString(dir + "\n")
		if err := errors.Join(werr, f.Close()); err != nil {
			os.Remove(file)
			return 0, fmt.Errorf("claim slot %s: %w", file, err)
		}
		return slot, nil
	}
	if len(held) > 4 {
		held = append(held[:4], fmt.Sprintf("and %d more", len(held)-4))
	}
	return 0, fmt.Errorf("no free slot for world %s: all %d address ranges are held (%s); run `kong down` on some worlds, or set KONG_SLOTS to a folder of your own",
		name, topology.Slots, strings.Join(held, ", "))
}

// releaseSlot removes this user's slot files that name dir.
func releaseSlot(dir string) {
	unlock, err := lockSlots()
	if err != nil {
		return
	}
	defer unlock()
	slots := SlotsDir()
	entries, _ := os.ReadDir(slots)
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		file := filepath.Join(slots, e.Name())
		if holder, mine, _ := readSlot(file); mine && holder == dir {
			_ = os.Remove(file)
		}
	}
}

// ownerAlive reports whether some process holds the world's owner lock. A
// lock kong cannot open (another user's private folder) counts as held:
// kong then leaves that world's slot alone.
func ownerAlive(dir string) bool {
	f, _, err := openPlain(filepath.Join(dir, ownerLock), os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		return !errors.Is(err, syscall.ELOOP) && !errors.Is(err, syscall.ENOTDIR)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
