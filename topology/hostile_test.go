package topology

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestHostileTopologyFiles: each bad file gets an error that says what is
// wrong, never a panic or a hang.
func TestHostileTopologyFiles(t *testing.T) {
	dir := t.TempDir()
	laughs := "a: &a [x,x,x,x,x,x,x,x,x]\n"
	prev := "a"
	for i := 0; i < 9; i++ {
		name := string(rune('b' + i))
		laughs += name + ": &" + name + " [*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + ",*" + prev + "]\n"
		prev = name
	}
	laughs += "regions: *" + prev + "\n"
	rows := []struct{ name, body, want string }{
		{"empty", "", "the topology is empty"},
		{"binary", "\x00\x01\x02\xff\xfe", "topology"},
		{"not a mapping", "- a\n- b\n", "topology"},
		{"unknown key", "regions:\n  - name: us-east-1\n    zones: [a]\n    colour: blue\n", "unknown key colour"},
		{"billion laughs", laughs, "topology"},
		{"deep nesting", "regions: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n", "topology"},
		{"huge", "regions:\n" + strings.Repeat("# padding\n", 200000), "larger than"},
		{"long name", "regions:\n  - name: " + strings.Repeat("x", 10000) + "\n    zones: [a]\n", "topology"},
		{"unicode region", "regions:\n  - name: ūs-east\n    zones: [a]\n", "topology"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(r.name, " ", "-")+".yaml")
			require.NoError(t, os.WriteFile(path, []byte(r.body), 0o644))
			done := make(chan error, 1)
			go func() { _, err := Load(path); done <- err }()
			select {
			case err := <-done:
				require.Error(t, err)
				require.Contains(t, err.Error(), r.want)
				require.Contains(t, err.Error(), path, "the error names the file")
			case <-time.After(20 * time.Second):
				t.Fatal("Load hung")
			}
		})
	}
	// A folder, a FIFO and a missing file are named, not read.
	fifo := filepath.Join(dir, "fifo.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for path, want := range map[string]string{dir: "not a regular file", fifo: "not a regular file", filepath.Join(dir, "missing.yaml"): "no such file"} {
		done := make(chan error, 1)
		go func() { _, err := Load(path); done <- err }()
		select {
		case err := <-done:
			require.ErrorContains(t, err, want, path)
		case <-time.After(10 * time.Second):
			t.Fatalf("Load(%s) hung", path)
		}
	}
}
