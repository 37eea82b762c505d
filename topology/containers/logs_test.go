package containers

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLogsOptionsAskForTheLastLines(t *testing.T) {
	o := logsOptions(200)
	require.True(t, o.ShowStdout)
	require.True(t, o.ShowStderr)
	require.Equal(t, "200", o.Tail)
	require.False(t, o.Follow, "kong logs prints and returns")
	require.Empty(t, logsOptions(0).Tail, "0 lines means the whole output")
}

func TestTailBufferKeepsTheEndFromALineStart(t *testing.T) {
	var all strings.Builder
	tb := &tailBuffer{max: 100}
	for i := 0; i < 50; i++ {
		line := fmt.Sprintf("line %02d of the output\n", i)
		all.WriteString(line)
		// Writes of every size: one line, and sometimes a line in pieces.
		if i%3 == 0 {
			_, _ = tb.Write([]byte(line[:5]))
			_, _ = tb.Write([]byte(line[5:]))
		} else {
			_, _ = tb.Write([]byte(line))
		}
	}
	got := string(tb.Bytes("cassandra"))
	head, rest, ok := strings.Cut(got, "\n")
	require.True(t, ok)
	require.Contains(t, head, "left out")
	require.Contains(t, head, "cassandra")
	require.True(t, strings.HasSuffix(all.String(), rest), "what is kept is the end of the output")
	require.True(t, strings.HasPrefix(rest, "line "), "it starts at a whole line: %q", rest)
	require.LessOrEqual(t, len(rest), 100)
	require.Equal(t, fmt.Sprintf("[kong: the first %d bytes of cassandra's output are left out]", all.Len()-len(rest)), head)
}

func TestTailBufferKeepsAShortOutputWhole(t *testing.T) {
	tb := &tailBuffer{max: 1 << 10}
	_, _ = tb.Write([]byte("one\ntwo\n"))
	require.Equal(t, "one\ntwo\n", string(tb.Bytes("x")))

	// One write larger than the bound keeps its end.
	big := &tailBuffer{max: 10}
	_, _ = big.Write([]byte("aaaa\nbbbb\ncccc\n"))
	require.Equal(t, "[kong: the first 10 bytes of x's output are left out]\ncccc\n", string(big.Bytes("x")))
}
