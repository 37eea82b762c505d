package linkrouter

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kongchaos/kong/topology/topologytest"
)

func handshake(ip net.IP, port uint16) []byte { return Handshake(ip, port) }

func TestSenderOf(t *testing.T) {
	msg := append(handshake(net.ParseIP("127.101.3.2"), 7000), 0xde, 0xad)
	ip, head, err := SenderOf(bytes.NewReader(msg))
	require.NoError(t, err)
	require.Equal(t, "127.101.3.2", ip.String())
	require.Equal(t, msg[:15], head, "the bytes read are replayed upstream as they came")

	_, _, err = SenderOf(bytes.NewReader([]byte("GET / HTTP/1.1\r\n\r\n")))
	require.ErrorContains(t, err, "not a Cassandra internode connection")
	_, _, err = SenderOf(bytes.NewReader(msg[:10]))
	require.Error(t, err)
}

// echoServer answers every connection with "<name>:" and then what it reads.
func echoServer(t *testing.T, name string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = c.Write([]byte(name + ":")); _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	return l.Addr().String()
}

func TestRouterForwardsBySenderRegion(t *testing.T) {
	local, east := echoServer(t, "local"), echoServer(t, "from-east")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	listen := l.Addr().String()
	l.Close()
	route := Route{Listen: listen, BySource: map[string]string{
		"127.101.3.1": east,  // a node of the other region
		"127.101.3.2": local, // a node of the same region
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = ServeRoutes(ctx, []Route{route}, slog.New(slog.DiscardHandler)) }()
	dial := func(sender string) string {
		var c net.Conn
		require.Eventually(t, func() bool { c, err = net.Dial("tcp", listen); return err == nil }, 5*time.Second, 20*time.Millisecond)
		defer c.Close()
		hs := handshake(net.ParseIP(sender), 7000)
		_, err := c.Write(hs)
		require.NoError(t, err)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, _ := io.ReadAtLeast(c, buf, 1)
		got := string(buf[:n])
		// Read the rest of the echo of the handshake.
		for len(got) < len("from-east:")+len(hs) && n > 0 {
			n, _ = c.Read(buf)
			got += string(buf[:n])
			if n == 0 {
				break
			}
		}
		return got
	}
	require.Contains(t, dial("127.101.3.1"), "from-east:")
	require.Contains(t, dial("127.101.3.2"), "local:")
	// A stranger is dropped.
	c, err := net.Dial("tcp", listen)
	require.NoError(t, err)
	_, _ = c.Write(handshake(net.ParseIP("10.0.0.1"), 7000))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err, "a connection from an unknown node was forwarded")
	c.Close()
}

func TestPlanRoutes(t *testing.T) {
	p := topologytest.Plan(t, "global", 3)
	routes := PlanRoutes(p)
	require.Len(t, routes, len(p.Cassandra))
	for i, n := range p.Cassandra {
		r := routes[i]
		require.Equal(t, n.Extra["broadcast"], r.Listen)
		require.Len(t, r.BySource, len(p.Cassandra))
		for _, o := range p.Cassandra {
			want := n.LinkProxies[o.Region]
			if o.Region == n.Region {
				want = n.Extra["storage"]
			}
			require.Equal(t, want, r.BySource[o.Broadcast], "route of %s for sender %s", n.ID, o.ID)
		}
	}
}
