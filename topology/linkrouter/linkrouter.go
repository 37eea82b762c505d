// Package linkrouter is what stands at each Cassandra node's broadcast
// address (`kong serve toxiproxy --routes`, `kong serve link-router`) and
// sends every internode connection through the link of its sender's
// region, with either backend.
package linkrouter

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/kongchaos/kong/topology"
)

// A Cassandra node's outbound connections all come from 127.0.0.1, so a
// proxy cannot tell which region a connection comes from by its address. The
// link router at each node's broadcast address reads the sender's identity
// from the first bytes Cassandra sends on every internode connection (the
// handshake's Initiate message: magic, flags, then the sender's broadcast
// address and port) and forwards the connection through the toxiproxy proxy
// of the link from the sender's region. Cutting one link then cuts exactly
// that pair of regions, with any number of regions.

// cassandraMagic opens every internode connection (messaging version 4.0 and later).
const cassandraMagic = 0xCA552DFA

// Route is one router listener: a node's broadcast address.
type Route struct {
	Listen string `json:"listen"`
	// BySource maps a sender's broadcast IP to where its connections go:
	// a link proxy for other regions, the node itself for its own region.
	BySource map[string]string `json:"by_source"`
}

// PlanRoutes lays out the router listeners of a plan.
func PlanRoutes(p *topology.Plan) []Route {
	region := map[string]string{} // broadcast IP -> region
	for _, n := range p.Cassandra {
		region[n.Broadcast] = n.Region
	}
	routes := make([]Route, 0, len(p.Cassandra))
	for _, n := range p.Cassandra {
		r := Route{Listen: n.Extra["broadcast"], BySource: map[string]string{}}
		for ip, src := range region {
			if src == n.Region {
				r.BySource[ip] = n.Extra["storage"]
			} else {
				r.BySource[ip] = n.LinkProxies[src]
			}
		}
		routes = append(routes, r)
	}
	return routes
}

// WriteRoutes stores routes for `kong serve toxiproxy --routes FILE`.
func WriteRoutes(path string, routes []Route) error {
	data, err := json.MarshalIndent(routes, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// LoadRoutes reads a routes file.
func LoadRoutes(path string) ([]Route, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read link routes: %w", err)
	}
	var routes []Route
	if err := json.Unmarshal(data, &routes); err != nil {
		return nil, fmt.Errorf("read link routes %s: %w", path, err)
	}
	return routes, nil
}

// ServeRoutes listens on every route until ctx ends.
func ServeRoutes(ctx context.Context, routes []Route, log *slog.Logger) error {
	var listeners []net.Listener
	for _, r := range routes {
		l, err := net.Listen("tcp", r.Listen)
		if err != nil {
			for _, o := range listeners {
				o.Close()
			}
			return fmt.Errorf("link router on %s: %w", r.Listen, err)
		}
		listeners = append(listeners, l)
	}
	var wg sync.WaitGroup
	for i, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveRoute(l, routes[i], log)
		}()
	}
	<-ctx.Done()
	for _, l := range listeners {
		l.Close()
	}
	wg.Wait()
	return nil
}

func serveRoute(l net.Listener, r Route, log *slog.Logger) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			if err := forward(c, r); err != nil {
				log.Debug("link router dropped a connection", "listen", r.Listen, "err", err)
			}
		}()
	}
}

// Handshake is the start of the Initiate message a Cassandra node at ip:port
// sends on a new internode connection: what the router reads.
func Handshake(ip net.IP, port uint16) []byte {
	b := make([]byte, 0, 15)
	b = binary.BigEndian.AppendUint32(b, cassandraMagic)
	b = binary.BigEndian.AppendUint32(b, 13<<8) // flags: messaging version 13 (5.0)
	addr := ip.To4()
	if addr == nil {
		addr = ip.To16()
	}
	b = append(b, byte(len(addr)+2))
	b = append(b, addr...)
	return binary.BigEndian.AppendUint16(b, port)
}

// SenderOf reads the start of a Cassandra internode handshake and returns
// the sender's broadcast IP and the bytes read (to be replayed upstream).
func SenderOf(rd io.Reader) (net.IP, []byte, error) {
	head := make([]byte, 9)
	if _, err := io.ReadFull(rd, head); err != nil {
		return nil, head, fmt.Errorf("read handshake: %w", err)
	}
	if binary.BigEndian.Uint32(head) != cassandraMagic {
		return nil, head, errors.New("not a Cassandra internode connection (no protocol magic)")
	}
	size := int(head[8])
	if size != 4+2 && size != 16+2 {
		return nil, head, fmt.Errorf("handshake address of %d bytes: neither IPv4 nor IPv6", size)
	}
	addr := make([]byte, size)
	if _, err := io.ReadFull(rd, addr); err != nil {
		return nil, head, fmt.Errorf("read handshake address: %w", err)
	}
	return net.IP(addr[:size-2]), append(head, addr...), nil
}

func forward(c net.Conn, r Route) error {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	ip, head, err := SenderOf(c)
	if err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Time{})
	upstream, ok := r.BySource[ip.String()]
	if !ok {
		return fmt.Errorf("sender %s is not a node of this world", ip)
	}
	up, err := net.DialTimeout("tcp", upstream, 5*time.Second)
	if err != nil {
		return fmt.Errorf("dial %s for %s: %w", upstream, ip, err) // a cut link
	}
	defer up.Close()
	if _, err := up.Write(head); err != nil {
		return err
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	// Either side ending (a link cut drops the proxy's side) ends both.
	<-done
	c.Close()
	up.Close()
	<-done
	return nil
}
