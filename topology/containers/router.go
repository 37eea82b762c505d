package containers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/kongchaos/kong/topology/linkrouter"
)

// ServeLinkRouter runs the link routers of a container world (`kong serve
// link-router`), one per route of routesFile, until ctx ends. Once every
// address is free it says RouterReadyLine on out, which also receives its
// log.
func ServeLinkRouter(ctx context.Context, routesFile string, out io.Writer) error {
	routes, err := linkrouter.LoadRoutes(routesFile)
	if err != nil {
		return err
	}
	var addrs []string
	for _, r := range routes {
		// Fail here, before saying it listens, when an address is taken.
		l, err := net.Listen("tcp", r.Listen)
		if err != nil {
			return fmt.Errorf("link router on %s: %w", r.Listen, err)
		}
		l.Close()
		addrs = append(addrs, r.Listen)
	}
	fmt.Fprintf(out, "%s on %s\n", RouterReadyLine, strings.Join(addrs, ", "))
	return linkrouter.ServeRoutes(ctx, routes, slog.New(slog.NewTextHandler(out, nil)))
}
