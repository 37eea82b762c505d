package local

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// A world's secret is made with the world, in its state folder, readable by
// its user only. Whatever steers the world (the control API, and through it
// every kill, stop and pause) wants it in the Authorization header, which
// also keeps a web page from steering the world: a browser sends no custom
// header across origins without a preflight, which kong never answers.
const secretFile = "secret"

// newSecret writes a fresh secret into dir and returns it.
func newSecret(dir string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s := hex.EncodeToString(b)
	path := filepath.Join(dir, secretFile)
	_ = os.Remove(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return "", fmt.Errorf("write the world's secret: %w", err)
	}
	_, werr := f.WriteString(s + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("write the world's secret: %w", err)
	}
	return s, nil
}

// ReadSecret reads a world's secret from its state folder.
func ReadSecret(home, name string) (string, error) {
	path := filepath.Join(StateDir(home, name), secretFile)
	f, _, err := openPlain(path, os.O_RDONLY)
	if err != nil {
		return "", fmt.Errorf("read the secret of world %s (%s): %w; it is readable by the user who brought the world up", name, path, err)
	}
	defer f.Close()
	buf := make([]byte, 128)
	n, _ := f.Read(buf)
	s := strings.TrimSpace(string(buf[:n]))
	if s == "" {
		return "", fmt.Errorf("the secret of world %s (%s) is empty: run `kong down --world %s`, then `kong up`", name, path, name)
	}
	return s, nil
}
