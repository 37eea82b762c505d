// Package deploycmd is `kong deploy`: a release of the member service
// rolled out through a running world by harness/deploy's pipeline, with
// users' traffic while it runs so that the canary has something to be
// judged on.
package deploycmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kongchaos/kong/harness/deploy"
	"github.com/kongchaos/kong/harness/history"
	"github.com/kongchaos/kong/harness/workload"
	"github.com/kongchaos/kong/internal/exitstatus"
	"github.com/kongchaos/kong/internal/worldflags"
	"github.com/kongchaos/kong/internal/worldrun"
	"github.com/kongchaos/kong/topology"
)

// Attach finds world (the one the command's --world names when empty) on
// the command's backend; release lets it go.
type Attach func(cmd *cobra.Command, world string) (c topology.Cluster, release func(), err error)

type options struct {
	plan       deploy.Plan
	traffic    float64
	noAnalysis bool
	onMarginal bool
	// correctLooks divides alpha among the interval looks (deploy.Pipeline.CorrectLooks).
	correctLooks bool
	interval     time.Duration
	testWorld    string
	list, json   bool
}

// Command is `kong deploy VERSION`.
func Command(attach Attach) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "deploy VERSION",
		Short: "Roll a version of the member service out through a world: a canary judged against its region, then region by region, rolled back when the canary fails",
		Long: `Deploy rolls VERSION of the member service out through a running world, instance by
instance, as Netflix's Mimir did: first a canary (one instance of one zone of the first
region), judged after --analysis against the instances of its region still on the old
version (errors and latency, each by a Mann-Whitney U test), and every --interval meanwhile,
so that a canary found to err is rolled back at once (--correct-looks divides the test's
alpha among those looks: fewer good canaries failed on an early blip, a bad one exposed
longer); then the rest of that region;
then each next region after --bake. A canary that fails (or is marginal, unless
--on-marginal) is rolled back with everything deployed, and the command exits 1.

With --test-world NAME, VERSION goes first to that world, the test environment (another
world on the same backend, such as one brought up with kong up --world test --profile
small): to every instance of it at once, judged after --analysis against what the same
instances served in the --analysis before the deploy. A version the test environment fails
is rolled back there, and production is not touched. Production's plan (--regions, the
canary zone) and version are checked before the test environment takes anything.

While it runs, kong sends users' traffic at --traffic requests per second, so that the
canary has requests to be judged on. kong deploy --list shows the versions it knows.

With --json, the progress goes to stderr and stdout gets the result as JSON: the production
rollout's, or with --test-world {"test_environment": ..., "production": ...} (null where a
rollout did not start).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.list {
				return cobra.NoArgs(cmd, args)
			}
			return exitstatus.Usage(cobra.ExactArgs(1)(cmd, args))
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			versions := deploy.DefaultVersions()
			if o.list {
				return list(cmd.OutOrStdout(), versions)
			}
			if _, err := versions.Release(args[0]); err != nil {
				return exitstatus.Usage(err)
			}
			if o.testWorld != "" && o.testWorld == worldflags.World(cmd) {
				return exitstatus.Usage(fmt.Errorf("--test-world %s is the world deployed to: name another world, brought up as the test environment", o.testWorld))
			}
			if o.testWorld != "" && o.noAnalysis {
				return exitstatus.Usage(errors.New("--test-world with --no-analysis: the test environment is only its analysis; drop one of them"))
			}
			ctx, stop := worldrun.StopContext(cmd.Context())
			defer stop()
			out := cmd.OutOrStdout()
			if o.json {
				out = cmd.ErrOrStderr() // stdout carries the JSON document alone
			}
			// Production is checked first (its plan, its version), so that a
			// rollout it would refuse does not reach the test environment.
			c, release, err := attach(cmd, "")
			if err != nil {
				return err
			}
			defer release()
			prod, err := prepare(ctx, c, args[0], o)
			if err != nil {
				return err
			}
			var doc Document
			if o.testWorld != "" {
				tc, release, err := attach(cmd, o.testWorld)
				if err != nil {
					return err
				}
				doc.TestEnvironment, err = test(ctx, out, tc, versions, args[0], o)
				release()
				if err != nil {
					o.writeJSON(cmd.OutOrStdout(), doc)
					return err
				}
			}
			doc.Production, err = prod.run(ctx, out, versions, args[0], o)
			o.writeJSON(cmd.OutOrStdout(), doc)
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.plan.Regions, "regions", nil, "the regions in the order they take the version (default: the world's order)")
	f.StringVar(&o.plan.CanaryZone, "canary-zone", "", "the zone of the first region whose first instance is the canary (default: its first zone)")
	f.DurationVar(&o.plan.Analysis, "analysis", 30*time.Second, "how long the canary serves before it is judged")
	f.DurationVar(&o.plan.Bake, "bake", 30*time.Second, "how long each region runs the version before the next one takes it")
	f.Float64Var(&o.traffic, "traffic", 40, "users' requests per second sent while the rollout runs (0: none; the canary then needs real users)")
	f.DurationVar(&o.interval, "interval", 5*time.Second, "judge the canary every interval of its --analysis window too, and roll it back at once when its error rate is found worse (0: judge once, at the end)")
	f.StringVar(&o.testWorld, "test-world", "", "deploy to this world first, the test environment, and go on to production only when it holds there")
	f.BoolVar(&o.correctLooks, "correct-looks", false, "divide the test's alpha among the --interval looks (Bonferroni): fewer false rollbacks, longer exposure of a bad canary")
	f.BoolVar(&o.noAnalysis, "no-analysis", false, "skip the canary analysis (the pipeline without its safeguard)")
	f.BoolVar(&o.onMarginal, "on-marginal", false, "go on after a marginal canary instead of rolling it back")
	f.BoolVar(&o.list, "list", false, "list the versions kong can deploy and their defects")
	f.BoolVar(&o.json, "json", false, "print the result as JSON")
	return cmd
}

func list(out io.Writer, vs deploy.Versions) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tDEFECTS")
	for _, name := range vs.Names() {
		fmt.Fprintf(tw, "%s\t%s\n", name, vs[name].Defects)
	}
	return tw.Flush()
}

// Document is what kong deploy --json prints: the production rollout's
// result (null when it did not start), and with --test-world, the test
// environment's.
type Document struct {
	TestEnvironment *deploy.Result `json:"test_environment,omitempty"`
	Production      *deploy.Result `json:"production"`
}

// writeJSON prints doc with --json: without --test-world the production
// result alone, as before there was a test environment.
func (o options) writeJSON(w io.Writer, doc Document) {
	if !o.json {
		return
	}
	var v any = doc
	if o.testWorld == "" {
		if doc.Production == nil {
			return
		}
		v = doc.Production
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// rollout is a production rollout checked and ready to run.
type rollout struct {
	c        topology.Cluster
	w        *deploy.World
	stages   []deploy.Stage
	previous string
}

// prepare checks a production rollout of version: its stages from the plan,
// and that the world does not run the version already.
func prepare(ctx context.Context, c topology.Cluster, version string, o options) (*rollout, error) {
	r, err := open(ctx, c, func(m []topology.Component) ([]deploy.Stage, error) { return deploy.Stages(m, o.plan) })
	if err != nil {
		return nil, err
	}
	if r.previous == version {
		return nil, fmt.Errorf("every member service instance of world %s already runs %s", c.Name(), version)
	}
	return r, nil
}

// open reads world c's member services, their stages (stagesOf: a plan
// that does not fit them is bad input) and the version they run.
func open(ctx context.Context, c topology.Cluster, stagesOf func([]topology.Component) ([]deploy.Stage, error)) (*rollout, error) {
	w, err := deploy.OpenWorld(ctx, c)
	if err != nil {
		return nil, err
	}
	stages, err := stagesOf(w.Members)
	if err != nil {
		return nil, exitstatus.Usage(err)
	}
	previous, err := w.Current(ctx)
	if err != nil {
		return nil, err
	}
	return &rollout{c: c, w: w, stages: stages, previous: previous}, nil
}

// pipeline is the pipeline of r's stages, as the flags say, printing each
// event on out.
func (r *rollout) pipeline(out io.Writer, versions deploy.Versions, o options) *deploy.Pipeline {
	p := r.w.Pipeline(r.stages, versions)
	p.NoAnalysis, p.OnMarginal, p.Interval, p.CorrectLooks = o.noAnalysis, o.onMarginal, o.interval, o.correctLooks
	p.Record = func(e history.Event) { printEvent(out, e) }
	return p
}

// run rolls version out over production, stage by stage.
func (r *rollout) run(ctx context.Context, out io.Writer, versions deploy.Versions, version string, o options) (*deploy.Result, error) {
	if o.traffic > 0 {
		stopTraffic, err := sendTraffic(ctx, r.c, o.traffic)
		if err != nil {
			return nil, err
		}
		defer stopTraffic()
	}
	p := r.pipeline(out, versions, o)
	fmt.Fprintf(out, "deploying %s over %s in world %s: %d stages\n", version, r.previous, r.c.Name(), len(r.stages))
	res, err := p.Run(ctx, version, r.previous)
	if err != nil {
		return &res, err
	}
	if res.Decision != deploy.Promoted {
		return &res, exitstatus.Failed(fmt.Errorf("deploy of %s %s: %s", version, res.Decision, res.Reason))
	}
	fmt.Fprintf(out, "%s runs on every member service instance of world %s\n", version, r.c.Name())
	return &res, nil
}

// test deploys version to every instance of the test environment c,
// judged against what the same instances served before it, under
// traffic: the old version serves --analysis first, for the baseline. A
// version the test environment fails is rolled back there and is an
// error (exit status 1).
func test(ctx context.Context, out io.Writer, c topology.Cluster, versions deploy.Versions, version string, o options) (*deploy.Result, error) {
	r, err := open(ctx, c, func(m []topology.Component) ([]deploy.Stage, error) {
		return deploy.EnvironmentStages(m, o.plan.Analysis)
	})
	if err != nil {
		return nil, err
	}
	previous := r.previous
	if previous == version {
		fmt.Fprintf(out, "test environment %s already runs %s\n", c.Name(), version)
		return nil, nil
	}
	if o.traffic <= 0 {
		return nil, exitstatus.Usage(fmt.Errorf("--traffic %g: the test environment has no users of its own; give it traffic to be judged on", o.traffic))
	}
	stopTraffic, err := sendTraffic(ctx, c, o.traffic)
	if err != nil {
		return nil, err
	}
	defer stopTraffic()
	fmt.Fprintf(out, "test environment %s: %s serves %s of traffic first, the baseline\n", c.Name(), previous, o.plan.Analysis)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(o.plan.Analysis):
	}
	p := r.pipeline(out, versions, o)
	fmt.Fprintf(out, "deploying %s over %s in the test environment %s\n", version, previous, c.Name())
	res, err := p.Run(ctx, version, previous)
	if err != nil {
		return &res, err
	}
	if res.Decision != deploy.Promoted {
		return &res, exitstatus.Failed(fmt.Errorf("the test environment %s did not take %s (%s: %s): production not touched", c.Name(), version, res.Decision, res.Reason))
	}
	fmt.Fprintf(out, "%s holds in the test environment %s; on to production\n", version, c.Name())
	return &res, nil
}

// sendTraffic sends users' requests through the world's director until the
// returned function is called.
func sendTraffic(ctx context.Context, c topology.Cluster, rate float64) (func(), error) {
	director, err := topology.DirectorURL(ctx, c)
	if err != nil {
		return nil, err
	}
	w, err := workload.New(workload.Config{Director: director, Geos: c.Spec().RegionNames(), Pacer: workload.Constant(rate), Seed: uint64(time.Now().UnixNano()),
		Dial: topology.DialFunc(c)})
	if err != nil {
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	return func() { _, _ = w.Stop() }, nil
}

func printEvent(out io.Writer, e history.Event) {
	keys := make([]string, 0, len(e.Detail))
	for k := range e.Detail {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-16s %s", e.Time.Format("15:04:05"), e.Name, e.Target)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, e.Detail[k])
	}
	fmt.Fprintln(out, b.String())
}
