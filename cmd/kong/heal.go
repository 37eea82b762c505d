package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/fault"
	"github.com/kongchaos/kong/harness/fault/preflight"
	"github.com/kongchaos/kong/internal/clilog"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/topology/kube"
)

func newHeal() *cobra.Command {
	var watch time.Duration
	var regions []string
	var toxiproxy string
	var force bool
	cmd := &cobra.Command{
		Use:   "heal",
		Short: "Heal a world a run left faulted: every component back up and thawed, every link reset",
		Long: `Put a world back as it was brought up, whatever a run that died left: paused components
resumed, stopped or killed ones started, toxiproxy's links reset (and on the local and
container backends the member services' faults cleared, the director and gateways restored).

On the kubernetes backend it reads the state from the cluster alone (labels and annotations),
and refuses a world whose run lease a live run holds (--force heals under it). The world's
healer runs it inside the cluster with --watch: it heals when a run's lease expires, as it
does when the kong that ran it was killed.`,
		Example: `  kong heal --world w1
  kong heal --backend kubernetes --kubeconfig ~/.kube/config --world w1`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := worldflags.Backend(cmd)
			if err != nil {
				return err
			}
			ctx, out, world := cmd.Context(), cmd.OutOrStdout(), worldflags.World(cmd)
			kb, ok := b.(*kube.Backend)
			if !ok {
				if watch > 0 || force || toxiproxy != "" || len(regions) > 0 {
					return exitstatus.Usage(errors.New("--watch, --force, --regions and --toxiproxy are for --backend kubernetes"))
				}
				c, release, err := worldflags.Attach(cmd, "")
				if err != nil {
					return err
				}
				defer release()
				fixed, err := preflight.Check(ctx, c, true)
				for _, f := range fixed {
					fmt.Fprintln(out, "healed:", f)
				}
				if err == nil && len(fixed) == 0 {
					fmt.Fprintf(out, "world %s is whole: nothing to heal\n", world)
				}
				return err
			}
			ops, err := kb.Ops(world)
			if err != nil {
				return err
			}
			ops.Regions = regions
			h := &kube.Healer{Ops: ops, Log: clilog.New(cmd, cmd.ErrOrStderr(), slog.LevelInfo)}
			if toxiproxy != "" {
				h.Links = func(context.Context) error { return fault.ResetLinks(toxiproxy) }
			}
			if watch > 0 {
				return h.Run(ctx, watch)
			}
			if err := h.HealNow(ctx, force); err != nil {
				if errors.Is(err, kube.ErrLeaseHeld) {
					return fmt.Errorf("%w (kong heal --force heals it now)", err)
				}
				return err
			}
			fmt.Fprintf(out, "world %s: every component scaled back and resumed\n", world)
			if toxiproxy == "" {
				fmt.Fprintf(out, "its links were not reset: toxiproxy's API is inside the cluster (the world's healer resets them; from here: kubectl port-forward -n %s svc/toxiproxy 8474, then --toxiproxy 127.0.0.1:8474)\n",
					ops.Space.Control())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&watch, "watch", 0, "with --backend kubernetes: heal whenever the world's run lease expires, checking this often, until stopped (the world's healer)")
	f.StringSliceVar(&regions, "regions", nil, "with --backend kubernetes: the world's regions, to read its namespaces alone (the healer's permissions)")
	f.StringVar(&toxiproxy, "toxiproxy", "", "with --backend kubernetes: the world's toxiproxy API (host:port), to reset its links")
	f.BoolVar(&force, "force", false, "with --backend kubernetes: heal even while a live run holds the world's lease")
	return cmd
}
