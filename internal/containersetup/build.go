package containersetup

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/containers/images"
)

// BuildImages builds every image a container world needs on the engine
// that answers (see images.Build): the images' lines go to out, progress to
// progress, and the engine's build output to logFile (default: build.log in
// the images cache).
func BuildImages(ctx context.Context, out, progress io.Writer, log *slog.Logger, logFile string) error {
	cli, err := containers.Connect(ctx)
	if err != nil {
		return fmt.Errorf("%w; start one with `kong setup --engine`", err)
	}
	defer cli.Close()
	in, err := Inputs(ctx, progress, log)
	if err != nil {
		return err
	}
	if logFile == "" {
		logFile = filepath.Join(in.Cache, "build.log")
	}
	lf, err := os.Create(logFile)
	if err != nil {
		return fmt.Errorf("create the build log: %w", err)
	}
	defer lf.Close()
	fmt.Fprintf(progress, "building kong's images; the engine's output goes to %s\n", logFile)
	start := time.Now()
	if _, err := images.Build(ctx, cli, in, out, lf); err != nil {
		return fmt.Errorf("%w (the build log %s has the engine's output)", err, logFile)
	}
	fmt.Fprintf(out, "all images ready in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// Chosen asks the engine which image each role of a world would run.
func Chosen(ctx context.Context) ([]images.Choice, error) {
	cli, err := containers.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	return images.Choose(ctx, cli)
}

// WriteChoices writes choices as a table, a role a line (kong images
// list).
func WriteChoices(w io.Writer, choices []images.Choice) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tIMAGE\tSOURCE\tIN ENGINE\tWHY")
	for _, c := range choices {
		in := "no"
		if c.Present {
			in = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Role, c.Image, c.Source, in, c.Why)
	}
	return tw.Flush()
}

// WriteEnv writes choices as shell exports of the KONG_*_IMAGE variables
// the committed docker-compose.yml reads (kong images env).
func WriteEnv(w io.Writer, choices []images.Choice) error {
	for _, c := range choices {
		if _, err := fmt.Fprintf(w, "export %s='%s'\n", images.Env[c.Role], strings.ReplaceAll(c.Image, "'", `'\''`)); err != nil {
			return err
		}
	}
	return nil
}
