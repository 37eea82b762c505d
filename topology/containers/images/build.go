package images

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/moby/go-archive"
	"github.com/moby/moby/client"
)

// LabelRecipe is the label on kong's images that holds the hash of what
// they were built from: an image whose label matches is not built again.
const LabelRecipe = "org.kongchaos.recipe"

// Inputs are the files kong's images are made of, gathered by the caller
// (the local backend's caches hold the same jars and cqlsh).
type Inputs struct {
	// Cache is the folder kept between builds (the Debian root file
	// system's archive and the build contexts).
	Cache string
	// Debootstrap is the debootstrap executable; Mirror the Debian mirror.
	Debootstrap string
	Mirror      string
	// CassandraLib and ElasticMQLib are folders of jars; JammAgent the jamm
	// jar among CassandraLib's.
	CassandraLib, ElasticMQLib, JammAgent string
	// CqlshSitePackages is a Python 3.11 site-packages folder with cqlsh.
	CqlshSitePackages string
	// Kong is the kong executable; Toxiproxy the toxiproxy server's.
	Kong, Toxiproxy string
}

// Builder builds images on an engine.
type Builder interface {
	Engine
	ImageBuild(ctx context.Context, buildContext io.Reader, options client.ImageBuildOptions) (client.ImageBuildResult, error)
	ImageImport(ctx context.Context, source client.ImageImportSource, ref string, options client.ImageImportOptions) (client.ImageImportResult, error)
}

// Built is what one image's build did.
type Built struct {
	Image string
	// Fresh is false when an image of the same recipe was there already.
	Fresh bool
	Took  time.Duration
}

// Build builds the base image and every local image (Local), each only
// when its recipe changed, printing a line per image on out; buildLog gets
// the engine's build output.
func Build(ctx context.Context, b Builder, in Inputs, out, buildLog io.Writer) ([]Built, error) {
	var done []Built
	start := time.Now()
	fresh, err := buildBase(ctx, b, in, buildLog)
	if err != nil {
		return done, err
	}
	done = append(done, report(out, Base, fresh, time.Since(start)))
	baseID, err := imageID(ctx, b, Base)
	if err != nil {
		return done, err
	}
	for _, role := range Roles {
		r, err := recipeOf(role, in)
		if err != nil {
			return done, err
		}
		start := time.Now()
		fresh, err := r.build(ctx, b, Local[role], baseID, buildLog)
		if err != nil {
			return done, err
		}
		done = append(done, report(out, Local[role], fresh, time.Since(start)))
	}
	return done, nil
}

// BuildKong builds the kong image alone (a world's start does, so that
// the image runs the binary that brings the world up).
func BuildKong(ctx context.Context, b Builder, in Inputs, buildLog io.Writer) (Built, error) {
	start := time.Now()
	hasBase := true
	if in.Debootstrap == "" {
		var err error
		if hasBase, err = Present(ctx, b, Base); err != nil {
			return Built{}, err
		}
	} else if _, err := buildBase(ctx, b, in, buildLog); err != nil {
		return Built{}, err
	}
	var r recipe
	baseID := "scratch"
	if hasBase {
		id, err := imageID(ctx, b, Base)
		if err != nil {
			return Built{}, err
		}
		baseID = id
		if r, err = recipeOf(RoleKong, in); err != nil {
			return Built{}, err
		}
	} else {
		// No Debian base: a static kong needs none.
		if err := static(in.Kong); err != nil {
			return Built{}, fmt.Errorf("the kong image starts from %s, which the engine does not have, and %w: run `kong images build`", Base, err)
		}
		r = scratchKong(in.Kong)
	}
	fresh, err := r.build(ctx, b, Local[RoleKong], baseID, buildLog)
	return Built{Image: Local[RoleKong], Fresh: fresh, Took: time.Since(start)}, err
}

// static says whether the executable at path needs no dynamic loader.
func static(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s is not an executable this engine runs: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is linked dynamically (built without CGO_ENABLED=0)", path)
		}
	}
	return nil
}

func report(out io.Writer, image string, fresh bool, took time.Duration) Built {
	if fresh {
		fmt.Fprintf(out, "built %-34s in %s\n", image, took.Round(100*time.Millisecond))
	} else {
		fmt.Fprintf(out, "%-40s up to date (%s)\n", image, took.Round(10*time.Millisecond))
	}
	return Built{Image: image, Fresh: fresh, Took: took}
}

func imageID(ctx context.Context, e Engine, image string) (string, error) {
	res, err := e.ImageInspect(ctx, image)
	if err != nil {
		return "", fmt.Errorf("inspect %s: %w", image, err)
	}
	return res.ID, nil
}

// upToDate says whether image is there with the recipe label want.
func upToDate(ctx context.Context, e Engine, image, want string) (bool, error) {
	res, err := e.ImageInspect(ctx, image)
	if err != nil {
		if ok, perr := Present(ctx, e, image); perr == nil && !ok {
			return false, nil
		}
		return false, fmt.Errorf("inspect %s: %w", image, err)
	}
	return res.Config != nil && res.Config.Labels[LabelRecipe] == want, nil
}

// buildBase imports a minimal Debian (debootstrap --variant=minbase) as
// Base. The root file system's archive stays in the cache, so that a base
// image removed from the engine comes back in seconds.
func buildBase(ctx context.Context, b Builder, in Inputs, buildLog io.Writer) (bool, error) {
	recipe := hashOf("debootstrap", "--variant=minbase", DebianSuite, in.Mirror)
	if ok, err := upToDate(ctx, b, Base, recipe); err != nil || ok {
		return false, err
	}
	tarball := filepath.Join(in.Cache, "debian-"+DebianSuite+"-minbase.tar")
	if _, err := os.Stat(tarball); err != nil {
		if err := debootstrap(ctx, in, tarball, buildLog); err != nil {
			return false, err
		}
	}
	f, err := os.Open(tarball)
	if err != nil {
		return false, err
	}
	defer f.Close()
	res, err := b.ImageImport(ctx, client.ImageImportSource{Source: f, SourceName: "-"}, Base, client.ImageImportOptions{
		Message: "kong: Debian " + DebianSuite + " (debootstrap --variant=minbase)",
		Changes: []string{"LABEL " + LabelRecipe + "=" + recipe, `CMD ["/bin/bash"]`},
	})
	if err != nil {
		return false, fmt.Errorf("import %s into the engine: %w", Base, err)
	}
	defer res.Close()
	if err := readStream(res, buildLog); err != nil {
		return false, fmt.Errorf("import %s into the engine: %w", Base, err)
	}
	return true, nil
}

// debootstrap makes the root file system in a folder of the cache and
// archives it; the folder goes, the archive stays.
func debootstrap(ctx context.Context, in Inputs, tarball string, buildLog io.Writer) error {
	if in.Debootstrap == "" {
		return errors.New("debootstrap is needed to make the Debian base image: apt-get install debootstrap")
	}
	root := tarball + ".rootfs"
	if err := removeRoot(root); err != nil {
		return err
	}
	defer func() { _ = removeRoot(root) }()
	cmd := exec.CommandContext(ctx, in.Debootstrap, "--variant=minbase", DebianSuite, root, in.Mirror)
	cmd.Stdout, cmd.Stderr = buildLog, buildLog
	// Stopped, debootstrap unmounts what it mounted inside root (its
	// trap); killed, it would leave them mounted.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("debootstrap --variant=minbase %s from %s: %w (its output is in the build log)", DebianSuite, in.Mirror, err)
	}
	rc, err := archive.TarWithOptions(root, &archive.TarOptions{})
	if err != nil {
		return fmt.Errorf("archive the Debian root file system: %w", err)
	}
	defer rc.Close()
	tmp := tarball + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("archive the Debian root file system: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, tarball)
}

// removeRoot removes a root file system debootstrap made, after
// unmounting whatever is still mounted inside it (its /proc, /sys and
// /dev, when debootstrap did not get to unmount them): removing through a
// mount would reach the host's own files. It refuses when a mount stays.
func removeRoot(root string) error {
	if _, err := os.Lstat(root); os.IsNotExist(err) {
		return nil
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	mounts := func() []string {
		data, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			return nil
		}
		var in []string
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			// The fifth field is the mount point (octal escapes aside).
			if len(f) > 4 && (f[4] == abs || strings.HasPrefix(f[4], abs+"/")) {
				in = append(in, f[4])
			}
		}
		// Deepest first.
		sort.Sort(sort.Reverse(sort.StringSlice(in)))
		return in
	}
	for _, m := range mounts() {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	if left := mounts(); len(left) > 0 {
		return fmt.Errorf("%s still has mounts inside (%s): unmount them, then remove it", root, strings.Join(left, ", "))
	}
	return os.RemoveAll(root)
}

// recipe is one image's Dockerfile and the files beside it.
type recipe struct {
	dockerfile string
	// files are written into the context; dirs and copies are copied in
	// (context path -> host path).
	files  map[string]string
	copies map[string]string
	// dirs are empty folders made in the context.
	dirs []string
}

// hash covers the Dockerfile, the files, the copied files' names, modes
// and contents (Python's __pycache__ aside), and the base image's ID.
func (r recipe) hash(baseID string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, baseID)
	fmt.Fprintln(h, r.dockerfile)
	for _, k := range sortedKeys(r.files) {
		fmt.Fprintln(h, k, r.files[k])
	}
	fmt.Fprintln(h, r.dirs)
	for _, k := range sortedKeys(r.copies) {
		from, err := filepath.EvalSymlinks(r.copies[k])
		if err != nil {
			return "", fmt.Errorf("read %s: %w", r.copies[k], err)
		}
		err = filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(from, path)
			if strings.Contains(rel, "__pycache__") {
				return nil // Python's own cache, rewritten by every run of cqlsh
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			fmt.Fprintln(h, k, rel, info.Mode())
			if !d.Type().IsRegular() {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(h, f)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("read %s: %w", r.copies[k], err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func (r recipe) build(ctx context.Context, b Builder, image, baseID string, buildLog io.Writer) (bool, error) {
	sum, err := r.hash(baseID)
	if err != nil {
		return false, err
	}
	if ok, err := upToDate(ctx, b, image, sum); err != nil || ok {
		return false, err
	}
	dir, err := os.MkdirTemp("", "kong-image-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{"Dockerfile": r.dockerfile + "LABEL " + LabelRecipe + "=" + sum + "\n"}
	for k, v := range r.files {
		files[k] = v
	}
	for name, body := range files {
		mode := os.FileMode(0o644)
		if strings.HasPrefix(body, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), mode); err != nil {
			return false, err
		}
	}
	for _, d := range r.dirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o1777); err != nil {
			return false, err
		}
	}
	for name, from := range r.copies {
		if err := copyTree(from, filepath.Join(dir, name)); err != nil {
			return false, fmt.Errorf("copy %s into the build of %s: %w", from, image, err)
		}
	}
	tar, err := archive.TarWithOptions(dir, &archive.TarOptions{})
	if err != nil {
		return false, err
	}
	defer tar.Close()
	res, err := b.ImageBuild(ctx, tar, client.ImageBuildOptions{Tags: []string{image}, Remove: true, ForceRemove: true})
	if err != nil {
		return false, fmt.Errorf("build %s: %w", image, err)
	}
	defer res.Body.Close()
	if err := readStream(res.Body, buildLog); err != nil {
		return false, fmt.Errorf("build %s: %w", image, err)
	}
	return true, nil
}

// readStream copies the engine's progress messages to w and returns the
// error one of them carries.
func readStream(r io.Reader, w io.Writer) error {
	var msg struct {
		Stream string `json:"stream"`
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		msg.Stream, msg.Status, msg.Error = "", "", ""
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			fmt.Fprintln(w, sc.Text())
			continue
		}
		switch {
		case msg.Error != "":
			return errors.New(strings.TrimSpace(msg.Error))
		case msg.Stream != "":
			fmt.Fprint(w, msg.Stream)
		case msg.Status != "":
			fmt.Fprintln(w, msg.Status)
		}
	}
	return sc.Err()
}

// copyTree copies a file or a folder (hard links where the file system
// allows, since the jars are large and read-only).
func copyTree(from, to string) error {
	from, err := filepath.EvalSymlinks(from)
	if err != nil {
		return err
	}
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if os.Link(path, dst) == nil {
			return nil
		}
		return copyFile(path, dst)
	})
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func hashOf(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])[:16]
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
