package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/internal/syncbuf"
	"github.com/kongchaos/kong/topology/containers"
	"github.com/kongchaos/kong/topology/linkrouter"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// The link router reads the routes file the container backend writes, says
// when it listens, and sends a connection where its sender's route says,
// handshake first.
func TestServeLinkRouter(t *testing.T) {
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer upstream.Close()
	listen := freeAddr(t)
	sender := net.ParseIP("10.116.0.131")
	routes := []linkrouter.Route{{Listen: listen, BySource: map[string]string{sender.String(): upstream.Addr().String()}}}
	data, err := json.Marshal(routes)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "routes.json")
	require.NoError(t, os.WriteFile(file, data, 0o644))

	ctx, cancel := context.WithCancel(context.Background())
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		root := newRoot()
		root.SetOut(&out)
		root.SetArgs([]string{"serve", "link-router", "--routes", file})
		done <- root.ExecuteContext(ctx)
	}()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), containers.RouterReadyLine+" on "+listen) }, 10*time.Second, 20*time.Millisecond)

	var conn net.Conn
	require.Eventually(t, func() bool {
		conn, err = net.Dial("tcp", listen)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	defer conn.Close()
	hello := append(linkrouter.Handshake(sender, 7000), []byte("rest")...)
	_, err = conn.Write(hello)
	require.NoError(t, err)
	up, err := upstream.Accept()
	require.NoError(t, err)
	defer up.Close()
	got := make([]byte, len(hello))
	_ = up.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadFull(up, got)
	require.NoError(t, err)
	require.Equal(t, hello, got)
}

func TestServeLinkRouterAndSetupNeedTheirFiles(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "link-router", "--routes", filepath.Join(t.TempDir(), "absent.json")},
		{"serve", "world-setup", "--config", filepath.Join(t.TempDir(), "absent.json")},
	} {
		root := newRoot()
		root.SetOut(io.Discard)
		root.SetArgs(args)
		require.ErrorContains(t, root.Execute(), "absent.json", "%v", args)
	}
	empty := filepath.Join(t.TempDir(), "setup.json")
	require.NoError(t, os.WriteFile(empty, []byte(`{"keyspace":"kong"}`), 0o644))
	root := newRoot()
	root.SetArgs([]string{"serve", "world-setup", "--config", empty})
	require.ErrorContains(t, root.Execute(), "lists no Cassandra node")
}
