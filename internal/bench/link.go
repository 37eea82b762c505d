package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/kongchaos/kong/app/invalidation"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/linkrouter"
)

// EchoLatency are the round trips of the echo bench: straight to the echo
// server, through a toxiproxy proxy, and through a link router and the
// proxy.
type EchoLatency struct {
	Direct, Proxy, Routed []time.Duration
}

// Echo times 64-byte round trips to an echo server, directly and through a
// new toxiproxy proxy (of the toxiproxy at api) in front of it, rounds of
// each per pass.
func Echo(api string, rounds int) (EchoLatency, error) {
	var lat EchoLatency
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return lat, err
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	client := toxiclient.NewClient(api)
	// A world's toxiproxy listens only on its own addresses: the bench's
	// proxy takes one beside the API's.
	host, _, err := net.SplitHostPort(api)
	if err != nil {
		return lat, fmt.Errorf("toxiproxy API %q: %w", api, err)
	}
	proxy, err := client.CreateProxy("bench.echo", net.JoinHostPort(host, "0"), l.Addr().String())
	if err != nil {
		return lat, fmt.Errorf("create bench proxy: %w", err)
	}
	defer proxy.Delete()
	// A Cassandra link is a link router (which reads the handshake) in front
	// of the proxy: measure that path too, with a synthetic handshake.
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return lat, err
	}
	routerAddr := rl.Addr().String()
	rl.Close()
	sender := net.IPv4(127, 0, 0, 9)
	rctx, stopRouter := context.WithCancel(context.Background())
	defer stopRouter()
	go func() {
		_ = linkrouter.ServeRoutes(rctx, []linkrouter.Route{{Listen: routerAddr, BySource: map[string]string{sender.String(): proxy.Listen}}},
			slog.New(slog.DiscardHandler))
	}()
	time.Sleep(100 * time.Millisecond)
	measure := func(addr string) ([]time.Duration, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		if addr == routerAddr {
			hs := linkrouter.Handshake(sender, 7000)
			if _, err := c.Write(hs); err != nil {
				return nil, err
			}
			if _, err := io.ReadFull(c, make([]byte, len(hs))); err != nil {
				return nil, err
			}
		}
		buf := make([]byte, 64)
		return times(rounds, func() error {
			if _, err := c.Write(buf); err != nil {
				return err
			}
			_, err := io.ReadFull(c, buf)
			return err
		})
	}
	if lat.Direct, lat.Proxy, err = alternate(measure, l.Addr().String(), proxy.Listen); err != nil {
		return lat, err
	}
	_, lat.Routed, err = alternate(measure, l.Addr().String(), routerAddr)
	return lat, err
}

// SQSLink times ListQueues on region to's SQS endpoint of world w, directly
// and through the link region from's invalidations take, rounds of each
// per pass.
func SQSLink(ctx context.Context, w topology.Cluster, from, to string, rounds int) (direct, via []time.Duration, err error) {
	measure := func(endpoint string) ([]time.Duration, error) {
		c := invalidation.Client(endpoint, to)
		return times(rounds, func() error {
			_, err := c.ListQueues(ctx, &sqs.ListQueuesInput{})
			return err
		})
	}
	return alternate(measure, w.SQSEndpoint(to, to), w.SQSEndpoint(from, to))
}

// times times rounds calls of f.
func times(rounds int, f func() error) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, rounds)
	for range rounds {
		t := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t))
	}
	return lat, nil
}

// alternate warms both paths up, then measures them in turns (A B A B) so
// that neither gets the benefit of running second.
func alternate(measure func(string) ([]time.Duration, error), a, b string) (la, lb []time.Duration, err error) {
	for round := 0; round < 3; round++ {
		for i, target := range []string{a, b} {
			l, err := measure(target)
			if err != nil {
				return nil, nil, err
			}
			if round == 0 {
				continue // warm-up
			}
			if i == 0 {
				la = append(la, l...)
			} else {
				lb = append(lb, l...)
			}
		}
	}
	return la, lb, nil
}

// Percentile is the q-quantile (0 to 1) of lat, which it leaves unsorted.
func Percentile(lat []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}

// WriteLatency prints the p50 and p99 of lat on one line named name, and
// what they add to those of base when base is not nil.
func WriteLatency(w io.Writer, name string, lat, base []time.Duration) {
	p := Percentile
	line := fmt.Sprintf("  %-34s p50 %8s  p99 %8s", name, p(lat, 0.5).Round(time.Microsecond), p(lat, 0.99).Round(time.Microsecond))
	if base != nil {
		line += fmt.Sprintf("   added p50 %8s  p99 %8s", (p(lat, 0.5) - p(base, 0.5)).Round(time.Microsecond),
			(p(lat, 0.99) - p(base, 0.99)).Round(time.Microsecond))
	}
	fmt.Fprintln(w, line)
}

// Write prints the echo's round trips, direct and through the link, and
// what the link adds.
func (e EchoLatency) Write(w io.Writer) {
	WriteLatency(w, "tcp echo direct", e.Direct, nil)
	WriteLatency(w, "tcp echo via link proxy", e.Proxy, e.Direct)
	WriteLatency(w, "tcp echo via link router + proxy", e.Routed, e.Direct)
}
