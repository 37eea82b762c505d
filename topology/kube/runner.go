package kube

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/kube/runjob"
)

// RunnerName names the ServiceAccount, Roles and RoleBindings of the game
// days that run inside the cluster (RunJob).
const RunnerName = "kong-runner"

// KindRunner labels the runner's objects and run Jobs (LabelKind).
const KindRunner = "runner"

// RunnerRules are what a game day does to its world, in each of the
// world's namespaces, and nothing more: find the components and the link
// routers, kill a pod, scale and mark a StatefulSet (stop, start, pause),
// exec to pause and resume, read the world's Secret (its spec and
// secret), and hold the run lease.
var RunnerRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, Verbs: []string{"get", "list", "patch"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create", "get"}},
	{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list"}},
	{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{SecretName}, Verbs: []string{"get"}},
	// A lease that is not there yet is created: create takes no name.
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{LeaseName}, Verbs: []string{"get", "update"}},
}

// addRunner lays out the account the world's run Jobs run as: RunnerRules
// in every namespace of the world, and in each region's, the patch of its
// member services' Secrets, where a deploy puts a release (World.Deploy: a
// bad deploy's game day), and of no other Secret.
func (o *Objects) addRunner(l *Layout) {
	o.addAccount(l, RunnerName, map[string]string{LabelWorld: l.World, LabelKind: KindRunner}, RunnerRules)
	members := map[string][]string{}
	for _, m := range l.Plan.Members {
		members[l.Of(m)] = append(members[l.Of(m)], ObjectName(m))
	}
	for _, r := range o.Roles {
		if r.Name == RunnerName && len(members[r.Namespace]) > 0 {
			r.Rules = append(slices.Clone(r.Rules), rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"},
				ResourceNames: members[r.Namespace], Verbs: []string{"patch"}})
		}
	}
}

// JobReports is where a run Job's pod writes its reports.
const JobReports = "/kong-reports"

// DefaultHold is how long a run Job's pod keeps its reports for the kong
// that started it to fetch them.
const DefaultHold = 10 * time.Minute

// RunJob is the Job that runs args (a kong command line, without "kong")
// inside the cluster as the world's runner: `kong serve job` runs it,
// prints marker and its exit status, and keeps the reports it wrote under
// JobReports until they are fetched or hold passes.
func RunJob(space Space, image, name, marker string, hold time.Duration, args []string) *batchv1.Job {
	labels := map[string]string{LabelWorld: space.World, LabelKind: KindRunner}
	return &batchv1.Job{
		ObjectMeta: meta(name, space.Control(), labels, nil),
		Spec: batchv1.JobSpec{
			// A run is not tried again: its faults were healed or the
			// healer heals them; a second run would be another game day.
			BackoffLimit:            ptr[int32](0),
			TTLSecondsAfterFinished: ptr[int32](3600),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: RunnerName,
					RestartPolicy:      corev1.RestartPolicyNever,
					// Time for the run to heal its faults and write its
					// reports when the Job is deleted.
					TerminationGracePeriodSeconds: ptr[int64](120),
					Containers: []corev1.Container{{
						Name: KindRunner, Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
						Args:         append([]string{"serve", "job", "--reports", JobReports, "--hold", hold.String(), "--marker", marker, "--"}, args...),
						VolumeMounts: []corev1.VolumeMount{{Name: "reports", MountPath: JobReports}},
					}},
					Volumes: []corev1.Volume{{Name: "reports", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
}

// StopGrace is how long a run inside the cluster has, once asked to stop,
// to heal its faults and write its reports.
const StopGrace = 3 * time.Minute

// Streamer runs a command in a container of a pod, copying its standard
// output (APIExec).
type Streamer interface {
	Stream(ctx context.Context, namespace, pod, container string, cmd []string, stdout io.Writer) error
}

// Remote runs a kong command inside the cluster, in a run Job of the
// world, from a kong outside it: the game day's traffic then never crosses
// a port-forward. It shows the run's output as it comes, fetches the
// reports the run wrote, and returns the run's exit status.
type Remote struct {
	Client kubernetes.Interface
	Exec   Streamer
	Space  Space
	// Image is the kong image the Job runs.
	Image string
	// Out receives the run's output.
	Out io.Writer
	// Hold is how long the pod keeps the reports (0: DefaultHold).
	Hold time.Duration
	// Start bounds the wait for the pod to run (0: five minutes).
	Start time.Duration
	// Logs follows a pod's log from since on (zero: from its start; nil:
	// the API's).
	Logs func(ctx context.Context, namespace, pod string, since time.Time) (io.ReadCloser, error)
}

// Run runs args (a kong command line, without "kong", that writes its
// reports under JobReports) in a new run Job, and copies the reports into
// reports. ctx ending (Ctrl-C) asks the run to stop as Ctrl-C would: it
// heals its faults and writes its reports, which are still fetched. It
// returns the run's exit status and the folders and files it copied.
func (r *Remote) Run(ctx context.Context, args []string, reports string) (code int, copied []string, err error) {
	if err := r.ready(ctx); err != nil {
		return 0, nil, err
	}
	token, err := randomHex(4)
	if err != nil {
		return 0, nil, err
	}
	name, marker := "kong-run-"+token, "kong-job-"+token
	hold, start := r.Hold, r.Start
	if hold <= 0 {
		hold = DefaultHold
	}
	if start <= 0 {
		start = 5 * time.Minute
	}
	jobs := r.Client.BatchV1().Jobs(r.Space.Control())
	job := RunJob(r.Space, r.Image, name, marker, hold, args)
	if _, err := jobs.Create(ctx, job, metav1.CreateOptions{FieldManager: FieldManager}); err != nil {
		return 0, nil, fmt.Errorf("creating the run Job %s/%s: %w", r.Space.Control(), name, err)
	}
	bg := context.WithoutCancel(ctx)
	keep := false
	defer func() {
		if keep {
			return
		}
		if derr := jobs.Delete(bg, name, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)}); derr != nil && !apierrors.IsNotFound(derr) {
			err = errors.Join(err, fmt.Errorf("deleting the run Job %s/%s: %w", r.Space.Control(), name, derr))
		}
	}()
	pod, err := r.waitRunning(ctx, name, start)
	if err != nil {
		return 0, nil, err
	}
	fmt.Fprintf(r.Out, "running in the cluster: pod %s/%s\n", r.Space.Control(), pod)
	code, err = r.followOrStop(ctx, bg, name, pod, marker)
	if err != nil {
		return 0, nil, err
	}
	copied, err = r.fetch(bg, pod, reports)
	if err != nil {
		keep = true
		return code, copied, fmt.Errorf("copying the reports out of pod %s/%s (they stay there for %s: kubectl cp %s/%s:%s .): %w",
			r.Space.Control(), pod, hold, r.Space.Control(), pod, JobReports, err)
	}
	rctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	if err := r.control(rctx, pod, "--release", nil); err != nil {
		fmt.Fprintf(r.Out, "could not tell pod %s that its reports were fetched (%v): it ends within %s, or with its Job\n", pod, err, hold)
	}
	return code, copied, nil
}

// ready refuses a world this kong cannot run in: not there, or made by
// an older kong (no runner account, or no spec in its Secret).
func (r *Remote) ready(ctx context.Context) error {
	sec, err := r.Client.CoreV1().Secrets(r.Space.Control()).Get(ctx, SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: no world %s on the cluster (no Secret %s/%s)", topology.ErrNotUp, r.Space.World, r.Space.Control(), SecretName)
	}
	if err != nil {
		return fmt.Errorf("world %s: reading its Secret %s/%s: %w", r.Space.World, r.Space.Control(), SecretName, err)
	}
	_, err = r.Client.CoreV1().ServiceAccounts(r.Space.Control()).Get(ctx, RunnerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || len(sec.Data[SpecKey]) == 0 {
		return fmt.Errorf("world %s was made by an older kong, which gave it no run account: take it down and up again (kong down, kong up --backend kubernetes)", r.Space.World)
	}
	if err != nil {
		return fmt.Errorf("world %s: reading its service account %s: %w", r.Space.World, RunnerName, err)
	}
	return nil
}

// followOrStop follows the run's log until its exit status (follow). ctx
// ending (Ctrl-C) asks the run to stop; one that has not ended StopGrace
// later is given up on.
func (r *Remote) followOrStop(ctx, bg context.Context, job, pod, marker string) (int, error) {
	fctx, giveUp := context.WithCancel(bg)
	defer giveUp()
	followed := make(chan struct{})
	asked := make(chan struct{})
	go func() {
		defer close(asked)
		select {
		case <-ctx.Done():
		case <-followed:
			return
		}
		fmt.Fprintln(r.Out, "stopping the run in the cluster (its faults are healed and its reports written first)")
		time.AfterFunc(StopGrace, giveUp)
		sctx, cancel := context.WithTimeout(bg, 30*time.Second)
		defer cancel()
		if err := r.control(sctx, pod, "--stop", nil); err != nil {
			fmt.Fprintf(r.Out, "could not ask the run to stop (%v): deleting its Job\n", err)
			_ = r.Client.BatchV1().Jobs(r.Space.Control()).Delete(sctx, job, metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationBackground)})
		}
	}()
	code, err := r.follow(fctx, pod, marker)
	close(followed)
	<-asked
	if err != nil && fctx.Err() != nil && ctx.Err() != nil {
		return 0, fmt.Errorf("the run in the cluster did not stop within %s of Ctrl-C: its Job is deleted, and the world's healer heals what it left", StopGrace)
	}
	return code, err
}

// fetch copies the run's reports into dir: a stream cut short, or an exec
// that failed, is an error even when what came was a whole archive.
func (r *Remote) fetch(ctx context.Context, pod, dir string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	pr, pw := io.Pipe()
	sent := make(chan error, 1)
	go func() {
		err := r.control(ctx, pod, "--tar", pw)
		pw.CloseWithError(err)
		sent <- err
	}()
	copied, err := runjob.ExtractTar(pr, dir)
	if err == nil {
		// Whatever follows the archive's end: the exec's own end.
		_, err = io.Copy(io.Discard, pr)
	}
	_ = pr.CloseWithError(err)
	return copied, errors.Join(err, <-sent)
}

// control runs `kong serve job-control` in the run's pod with flag.
func (r *Remote) control(ctx context.Context, pod, flag string, stdout io.Writer) error {
	return r.Exec.Stream(ctx, r.Space.Control(), pod, KindRunner, []string{"/usr/local/bin/kong", "serve", "job-control", "--reports", JobReports, flag}, stdout)
}

// waitRunning waits for the pod of Job name to run, and fails early and
// clearly on one that cannot (its image cannot be pulled, its
// configuration is wrong, its Job failed) or that ended already.
func (r *Remote) waitRunning(ctx context.Context, name string, within time.Duration) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	pods := r.Client.CoreV1().Pods(r.Space.Control())
	waiting := "no pod yet"
	for {
		list, err := pods.List(wctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + name})
		if err != nil {
			waiting = err.Error()
			if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
				return "", fmt.Errorf("listing the pods of the run Job %s/%s: %w", r.Space.Control(), name, err)
			}
		}
		if err == nil {
			for _, p := range list.Items {
				switch p.Status.Phase {
				case corev1.PodRunning, corev1.PodSucceeded:
					return p.Name, nil
				case corev1.PodFailed:
					return "", fmt.Errorf("the run's pod %s/%s failed before it ran: %s", p.Namespace, p.Name, podTrouble(&p))
				}
				waiting = "pod " + p.Name + " " + podTrouble(&p)
				for _, s := range p.Status.ContainerStatuses {
					if w := s.State.Waiting; w != nil && unrecoverable[w.Reason] {
						return "", fmt.Errorf("the run's pod %s/%s cannot start: %s: %s (is image %s in a registry the cluster pulls from, or loaded into its runtime?)",
							p.Namespace, p.Name, w.Reason, w.Message, r.Image)
					}
				}
			}
		}
		if job, err := r.Client.BatchV1().Jobs(r.Space.Control()).Get(wctx, name, metav1.GetOptions{}); err == nil {
			for _, c := range job.Status.Conditions {
				if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
					return "", fmt.Errorf("the run Job %s/%s failed before its pod ran: %s: %s", r.Space.Control(), name, c.Reason, c.Message)
				}
			}
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return "", fmt.Errorf("stopped while the run's pod was starting (%s): %w", waiting, ctx.Err())
			}
			return "", fmt.Errorf("the run's pod did not start within %s (%s): kubectl describe job -n %s %s", within, waiting, r.Space.Control(), name)
		case <-time.After(time.Second):
		}
	}
}

// unrecoverable are the reasons a container waits that waiting longer
// does not cure.
var unrecoverable = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"ErrImageNeverPull": true, "CreateContainerConfigError": true, "CreateContainerError": true}

// podTrouble says why a pod does not run: its phase and its containers'
// waiting or terminated reasons.
func podTrouble(p *corev1.Pod) string {
	parts := []string{strings.ToLower(string(p.Status.Phase))}
	for _, s := range p.Status.ContainerStatuses {
		if w := s.State.Waiting; w != nil && w.Reason != "" {
			parts = append(parts, w.Reason)
		}
		if t := s.State.Terminated; t != nil {
			parts = append(parts, fmt.Sprintf("%s (exit %d)", t.Reason, t.ExitCode))
		}
	}
	return strings.Join(parts, ", ")
}

// follow copies the pod's log to Out until the marker line gives the
// run's exit status. A log stream that breaks while the pod runs is
// opened again from the start, the lines already shown skipped; a pod
// that ends without the marker is an error.
func (r *Remote) follow(ctx context.Context, pod, marker string) (int, error) {
	logs := r.Logs
	if logs == nil {
		logs = r.apiLogs
	}
	shown := 0
	for {
		rc, err := logs(ctx, r.Space.Control(), pod, time.Time{})
		if err != nil {
			return 0, fmt.Errorf("following the run's log (pod %s/%s): %w", r.Space.Control(), pod, err)
		}
		br := bufio.NewReader(rc)
		for n := 0; ; n++ {
			line, rerr := br.ReadString('\n')
			if line != "" && (rerr == nil || strings.HasSuffix(line, "\n")) {
				if code, ok := runjob.MarkerExit(line, marker); ok {
					rc.Close()
					return code, nil
				}
				if n >= shown {
					fmt.Fprint(r.Out, line)
					shown++
				}
			}
			if rerr != nil {
				break
			}
		}
		rc.Close()
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		p, err := r.Client.CoreV1().Pods(r.Space.Control()).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return 0, fmt.Errorf("the run's pod %s/%s: %w", r.Space.Control(), pod, err)
		}
		if p.Status.Phase != corev1.PodRunning {
			return 0, fmt.Errorf("the run's pod %s/%s ended before its run did (%s): its faults are the world's healer's to heal (kong heal)", p.Namespace, p.Name, podTrouble(p))
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// apiLogs follows the log of the pod's run container from since on.
func (r *Remote) apiLogs(ctx context.Context, namespace, pod string, since time.Time) (io.ReadCloser, error) {
	opts := &corev1.PodLogOptions{Container: KindRunner, Follow: true}
	if !since.IsZero() {
		opts.SinceTime = &metav1.Time{Time: since}
	}
	return r.Client.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
}

// randomHex is n random bytes in hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
