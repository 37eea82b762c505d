package scenarios

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kongchaos/kong/harness/run"
	"github.com/kongchaos/kong/reports"
)

// RunLogFile is the log of a run that RunInDir writes into its folder when
// the caller gives no logger.
const RunLogFile = "run.log"

// RunDir is the folder under out of a run of the scenario name that starts
// at: name-20060102T150405Z.
func RunDir(out, name string, at time.Time) string {
	return filepath.Join(out, fmt.Sprintf("%s-%s", name, at.UTC().Format("20060102T150405Z")))
}

// Result is what a run into a folder left: the run's outcome (as far as it
// got when the run returned an error) and the report written from its
// folder.
type Result struct {
	Outcome *run.Outcome
	// Report is the report built from the folder; ReportErr says why it
	// could not be built or written (nil Report).
	Report    *reports.Report
	ReportErr error
}

// RunInDir runs spec with env into env.Dir, which it makes, within the
// spec's Timeout (none when 0); a world the spec does not fit (see
// Spec.Fits) is refused first. The run logs into run.log in the folder
// when env.Log is nil. Every report is built and written into the folder
// from what the run left, whatever happened; the error is the run's own.
func RunInDir(ctx context.Context, spec Spec, env *Env) (Result, error) {
	if err := spec.Fits(env.Cluster); err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(env.Dir, 0o755); err != nil {
		return Result{}, err
	}
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	if env.Log == nil {
		logf, err := os.Create(filepath.Join(env.Dir, RunLogFile))
		if err != nil {
			return Result{}, err
		}
		defer logf.Close()
		withLog := *env
		withLog.Log = slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: env.LogLevel}))
		env = &withLog
	}
	out, err := spec.Run(ctx, spec, env)
	res := Result{Outcome: out}
	res.Report, res.ReportErr = reports.Build(env.Dir)
	if res.ReportErr == nil {
		if res.ReportErr = reports.WriteAll(env.Dir, res.Report); res.ReportErr != nil {
			res.Report = nil
		}
	}
	return res, err
}
