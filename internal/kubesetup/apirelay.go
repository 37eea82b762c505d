package kubesetup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The API server listens on loopback alone, and runs with no endpoint
// reconciler: the kubernetes Service (its first cluster IP, where every
// pod's in-cluster client goes) has no endpoints of its own. While a real
// node runs, its pods reach the API server the way pods of any cluster do,
// at that cluster IP: the node relays its address's apiRelay port to the
// API server on loopback, and the kubernetes Service's EndpointSlice
// (apiSlice) names that port, so that kube-proxy sends the cluster IP
// there. The relay listens on the node's bridge, which only this machine
// and its pods reach; it carries TLS end to end (the API server's own
// certificate names the cluster IP).
type apiRelay struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// apiSlice names the EndpointSlice of the kubernetes Service the node
// writes.
const apiSlice = "kubernetes"

// relayAPI starts the relay on the node's address to the API server at
// host (an https URL), and points the kubernetes Service at it.
func (n *Node) relayAPI(ctx context.Context, host string) error {
	u, err := url.Parse(host)
	if err != nil {
		return fmt.Errorf("the API server's address %q: %w", host, err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(nodeIP, "0"))
	if err != nil {
		return fmt.Errorf("relaying the API server to the node's pods: %w", err)
	}
	r := &apiRelay{ln: ln, conns: map[net.Conn]bool{}}
	n.relay = r
	r.wg.Add(1)
	go r.serve(u.Host)
	port := int32(ln.Addr().(*net.TCPAddr).Port)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: apiSlice, Namespace: metav1.NamespaceDefault, Labels: map[string]string{
			discoveryv1.LabelServiceName: "kubernetes", discoveryv1.LabelManagedBy: "kong-test-node"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{nodeIP}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("https"), Port: &port}},
	}
	slices := n.cp.Client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault)
	_, err = slices.Create(ctx, slice, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var old *discoveryv1.EndpointSlice
		if old, err = slices.Get(ctx, apiSlice, metav1.GetOptions{}); err == nil {
			slice.ResourceVersion = old.ResourceVersion
			_, err = slices.Update(ctx, slice, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("pointing the kubernetes Service at the node's relay (port %d): %w", port, err)
	}
	return nil
}

// serve relays each connection to target until the listener closes.
func (r *apiRelay) serve(target string) {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !r.track(c, up) {
			return
		}
		r.wg.Add(2)
		for _, pair := range [][2]net.Conn{{c, up}, {up, c}} {
			go func() {
				defer r.wg.Done()
				_, _ = io.Copy(pair[0], pair[1])
				_ = pair[0].Close()
				_ = pair[1].Close()
				r.untrack(pair[0], pair[1])
			}()
		}
	}
}

// track records open connections, and closes them at once when the relay
// is stopping (conns is nil).
func (r *apiRelay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		r.conns[c] = true
	}
	return true
}

func (r *apiRelay) untrack(cs ...net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		delete(r.conns, c)
	}
}

// stop closes the listener and every relayed connection, and waits until
// the relay's goroutines ended.
func (r *apiRelay) stop() error {
	err := r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		_ = c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	r.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// unrelayAPI stops the relay and removes the kubernetes Service's
// EndpointSlice, when the control plane still answers.
func (n *Node) unrelayAPI(ctx context.Context) error {
	if n.relay == nil {
		return nil
	}
	err := n.relay.stop()
	n.relay = nil
	if derr := n.cp.Client.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).Delete(ctx, apiSlice, metav1.DeleteOptions{}); derr != nil && !apierrors.IsNotFound(derr) {
		err = errors.Join(err, fmt.Errorf("removing the kubernetes Service's EndpointSlice: %w", derr))
	}
	return err
}
