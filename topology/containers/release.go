package containers

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"path"
	"time"

	"github.com/moby/moby/client"

	"github.com/kongchaos/kong/app/member"
	"github.com/kongchaos/kong/topology"
)

// Deploy restarts member service instance id on release r, as the local
// backend does: it copies the release beside the instance's configuration
// in its container, stops the container gracefully and starts it again,
// waiting until it answers. It is one step of a rolling deploy
// (harness/deploy). The release stays in the container's own layer, so it
// outlives a stop or a kill, as a deployed version does, and goes with the
// container.
func (w *World) Deploy(ctx context.Context, id string, r member.Release) error {
	if _, kind, _, err := topology.ParseID(id); err != nil || kind != topology.KindMember {
		return fmt.Errorf("component %s is not a member service instance: only those take releases", id)
	}
	c, err := findContainer(w.name, w.cs, id)
	if err != nil {
		return err
	}
	archive, err := releaseArchive(r)
	if err != nil {
		return fmt.Errorf("deploy to %s: %w", id, err)
	}
	if _, err := w.cli.CopyToContainer(ctx, c.Name, client.CopyToContainerOptions{
		DestinationPath: path.Dir(appConfigPath), Content: archive,
	}); err != nil {
		return fmt.Errorf("deploy %s to %s: copy the release into container %s: %w", r.Version, id, c.Name, err)
	}
	if err := w.Stop(ctx, id); err != nil {
		return fmt.Errorf("deploy %s to %s: stop: %w", r.Version, id, err)
	}
	if err := w.Start(ctx, id); err != nil {
		return fmt.Errorf("deploy %s to %s: start: %w", r.Version, id, err)
	}
	return nil
}

// releaseArchive is the tar stream of one file, the release file that
// `kong serve member` reads beside its configuration.
func releaseArchive(r member.Release) (*bytes.Buffer, error) {
	data, err := r.Encode()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: member.ReleaseFile, Mode: 0o644, Size: int64(len(data)), ModTime: time.Now()}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	return &buf, tw.Close()
}
