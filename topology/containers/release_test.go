package containers

import (
	"archive/tar"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/app/member"
)

func TestReleaseArchiveHoldsTheReleaseFile(t *testing.T) {
	r := member.Release{Version: "v2-errors", Defects: member.Faults{ErrorRate: 0.1}}
	buf, err := releaseArchive(r)
	require.NoError(t, err)
	tr := tar.NewReader(buf)
	h, err := tr.Next()
	require.NoError(t, err)
	require.Equal(t, member.ReleaseFile, h.Name)
	require.EqualValues(t, 0o644, h.Mode)
	data, err := io.ReadAll(tr)
	require.NoError(t, err)
	want, err := r.Encode()
	require.NoError(t, err)
	require.Equal(t, string(want), string(data))
	_, err = tr.Next()
	require.ErrorIs(t, err, io.EOF, "one file only")

	_, err = releaseArchive(member.Release{Version: "no spaces"})
	require.ErrorContains(t, err, "use letters, digits")
}
