package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kongchaos/kong/internal/syncbuf"
	"github.com/kongchaos/kong/topology"
	"github.com/kongchaos/kong/topology/kube/runjob"
)

// The run Job: the runner's account, no retry, the reports on an
// emptyDir, and `kong serve job` around the command.
func TestRunJob(t *testing.T) {
	j := RunJob(Space{Prefix: "team-", World: "w1"}, "img:1", "kong-run-ab", "kong-job-ab", 2*time.Minute, []string{"run", "split-brain", "--seed=4"})
	require.Equal(t, "team-w1", j.Namespace)
	require.EqualValues(t, 0, *j.Spec.BackoffLimit)
	spec := j.Spec.Template.Spec
	require.Equal(t, RunnerName, spec.ServiceAccountName)
	require.Equal(t, corev1.RestartPolicyNever, spec.RestartPolicy)
	c := spec.Containers[0]
	require.Equal(t, "img:1", c.Image)
	require.Equal(t, []string{"serve", "job", "--reports", JobReports, "--hold", "2m0s", "--marker", "kong-job-ab", "--", "run", "split-brain", "--seed=4"}, c.Args)
	require.Equal(t, JobReports, c.VolumeMounts[0].MountPath)
	require.NotNil(t, spec.Volumes[0].EmptyDir)
}

// Every world has the runner's account, bound in each of its namespaces
// to RunnerRules, and in each region's to the patch of its member
// services' Secrets (a deploy's release) too, and nothing more.
func TestBuildHasTheRunnersAccount(t *testing.T) {
	l := layout(t, "w1", "default")
	o, err := Build(l, DefaultImages())
	require.NoError(t, err)
	var roles, bindings []string
	for _, r := range o.Roles {
		if r.Name == RunnerName {
			roles = append(roles, r.Namespace)
			require.Equal(t, RunnerRules, r.Rules[:len(RunnerRules)])
			if r.Namespace == l.Control() {
				require.Len(t, r.Rules, len(RunnerRules))
				continue
			}
			require.Len(t, r.Rules, len(RunnerRules)+1)
			extra := r.Rules[len(RunnerRules)]
			require.Equal(t, []string{"secrets"}, extra.Resources)
			require.Equal(t, []string{"patch"}, extra.Verbs)
			var want []string
			for _, m := range l.Plan.Members {
				if l.Of(m) == r.Namespace {
					want = append(want, ObjectName(m))
				}
			}
			require.ElementsMatch(t, want, extra.ResourceNames, "the member services' Secrets of %s, and no other", r.Namespace)
		}
	}
	for _, b := range o.RoleBindings {
		if b.Name == RunnerName {
			bindings = append(bindings, b.Namespace)
			require.Equal(t, RunnerName, b.Subjects[0].Name)
			require.Equal(t, l.Control(), b.Subjects[0].Namespace)
		}
	}
	want := []string{l.Control(), l.Region("us-east-1"), l.Region("us-west-2")}
	require.ElementsMatch(t, want, roles)
	require.ElementsMatch(t, want, bindings)
	for _, rule := range RunnerRules {
		for _, v := range rule.Verbs {
			require.NotContains(t, []string{"*", "deletecollection"}, v)
		}
		if rs := rule.Resources; len(rs) == 1 && rs[0] == "secrets" {
			require.Equal(t, []string{SecretName}, rule.ResourceNames, "the runner reads the world's Secret only")
		}
	}
}

// fakeStreamer plays the run pod's `kong serve job-control`.
type fakeStreamer struct {
	reports string
	mu      sync.Mutex
	calls   []string
}

func (f *fakeStreamer) Stream(_ context.Context, namespace, pod, container string, cmd []string, stdout io.Writer) error {
	f.mu.Lock()
	f.calls = append(f.calls, cmd[len(cmd)-1])
	f.mu.Unlock()
	switch cmd[len(cmd)-1] {
	case "--tar":
		return runjob.WriteTar(stdout, f.reports)
	case "--release", "--stop":
		return nil
	}
	return fmt.Errorf("unexpected command %v", cmd)
}

// Remote end to end against a fake API: the Job is made, its pod's log
// shows, the marker gives the status, the reports are copied out and
// released, and the Job is deleted.
func TestRemoteRun(t *testing.T) {
	ctx := context.Background()
	space := Space{World: "w1"}
	cs := worldOf(space)
	playJobs(cs, corev1.PodStatus{Phase: corev1.PodRunning})
	reports := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(reports, "split-brain-1"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(reports, "split-brain-1", "report.json"), []byte("{}"), 0o644))
	st := &fakeStreamer{reports: reports}
	out := &syncbuf.Buffer{}
	var gotArgs []string
	r := &Remote{Client: cs, Exec: st, Space: space, Image: "kong:1", Out: out,
		Logs: func(ctx context.Context, namespace, pod string, _ time.Time) (io.ReadCloser, error) {
			jobs, err := cs.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			args := jobs.Items[0].Spec.Template.Spec.Containers[0].Args
			gotArgs = args
			marker := args[slices.Index(args, "--marker")+1]
			return io.NopCloser(strings.NewReader("phase steady-state\nchecker availability: invalid\n" + marker + " exit 1\nafter\n")), nil
		}}
	local := filepath.Join(t.TempDir(), "kong-reports")
	code, copied, err := r.Run(ctx, []string{"run", "split-brain"}, local)
	require.NoError(t, err)
	require.Equal(t, 1, code)
	require.Equal(t, []string{"split-brain-1"}, copied)
	require.FileExists(t, filepath.Join(local, "split-brain-1", "report.json"))
	require.Contains(t, out.String(), "checker availability: invalid\n")
	require.NotContains(t, out.String(), "exit 1", "the marker line is kong's, not the run's")
	require.NotContains(t, out.String(), "after")
	require.Equal(t, []string{"--tar", "--release"}, st.calls)
	require.Equal(t, []string{"run", "split-brain"}, gotArgs[len(gotArgs)-2:])
	jobs, err := cs.BatchV1().Jobs(space.Control()).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, jobs.Items, "the Job is deleted once its reports are out")
}

// A pod that cannot pull its image fails the run at once, naming the
// image, and its Job is deleted.
func TestRemoteRunImageNotThere(t *testing.T) {
	ctx := context.Background()
	space := Space{World: "w1"}
	cs := worldOf(space)
	playJobs(cs, corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: "image not present"}}}}})
	r := &Remote{Client: cs, Exec: &fakeStreamer{}, Space: space, Image: "kong:missing", Out: io.Discard}
	_, _, err := r.Run(ctx, []string{"run", "split-brain"}, t.TempDir())
	require.ErrorContains(t, err, "ErrImageNeverPull")
	require.ErrorContains(t, err, "kong:missing")
	jobs, err := cs.BatchV1().Jobs(space.Control()).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, jobs.Items)
}

// worldOf is a fake cluster with what a world made by this kong has for
// its runs: its Secret, with its spec, and the runner's account.
func worldOf(space Space) *fake.Clientset {
	return fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: space.Control()}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: space.Control(), Labels: map[string]string{LabelWorld: space.World}},
			Data: map[string][]byte{SecretKey: []byte("s"), SpecKey: []byte("{}")}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: RunnerName, Namespace: space.Control()}})
}

// A world that is not there, or that an older kong made (no runner's
// account), is refused before any Job is made, saying what to do.
func TestRemoteRunRefusesAWorldItCannotRunIn(t *testing.T) {
	ctx := context.Background()
	space := Space{World: "w1"}
	r := &Remote{Client: fake.NewClientset(), Exec: &fakeStreamer{}, Space: space, Image: "kong:1", Out: io.Discard}
	_, _, err := r.Run(ctx, []string{"run", "split-brain"}, t.TempDir())
	require.ErrorIs(t, err, topology.ErrNotUp)

	cs := worldOf(space)
	require.NoError(t, cs.CoreV1().ServiceAccounts(space.Control()).Delete(ctx, RunnerName, metav1.DeleteOptions{}))
	r.Client = cs
	_, _, err = r.Run(ctx, []string{"run", "split-brain"}, t.TempDir())
	require.ErrorContains(t, err, "older kong")
	jobs, err := cs.BatchV1().Jobs(space.Control()).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Empty(t, jobs.Items)
}

// brokenTar plays a pod whose tar stream is cut short: a whole archive of
// what it sent, then the exec fails.
type brokenTar struct{ fakeStreamer }

func (b *brokenTar) Stream(ctx context.Context, namespace, pod, container string, cmd []string, stdout io.Writer) error {
	if cmd[len(cmd)-1] == "--tar" {
		_ = b.fakeStreamer.Stream(ctx, namespace, pod, container, cmd, stdout)
		return errors.New("exec: connection reset")
	}
	return b.fakeStreamer.Stream(ctx, namespace, pod, container, cmd, stdout)
}

// Reports whose copy failed are not called copied: the error says where
// they stay, the pod is not released and its Job is kept.
func TestRemoteRunCopyFailureKeepsTheReports(t *testing.T) {
	ctx := context.Background()
	space := Space{World: "w1"}
	cs := worldOf(space)
	playJobs(cs, corev1.PodStatus{Phase: corev1.PodRunning})
	st := &brokenTar{fakeStreamer{reports: t.TempDir()}}
	r := &Remote{Client: cs, Exec: st, Space: space, Image: "kong:1", Out: io.Discard,
		Logs: func(ctx context.Context, namespace, pod string, _ time.Time) (io.ReadCloser, error) {
			jobs, err := cs.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			args := jobs.Items[0].Spec.Template.Spec.Containers[0].Args
			return io.NopCloser(strings.NewReader("\n" + args[slices.Index(args, "--marker")+1] + " exit 0\n")), nil
		}}
	_, _, err := r.Run(ctx, []string{"run", "split-brain"}, t.TempDir())
	require.ErrorContains(t, err, "connection reset")
	require.ErrorContains(t, err, "they stay there")
	require.Equal(t, []string{"--tar"}, st.calls, "not released")
	jobs, err := cs.BatchV1().Jobs(space.Control()).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, jobs.Items, 1, "the Job is kept with its reports")
}

// A log stream that breaks is opened again: no line is shown twice, a line
// cut short is shown whole, and the marker is still found.
func TestRemoteFollowReopensTheLog(t *testing.T) {
	ctx := context.Background()
	space := Space{World: "w1"}
	cs := worldOf(space)
	_, err := cs.CoreV1().Pods(space.Control()).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: space.Control()},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}, metav1.CreateOptions{})
	require.NoError(t, err)
	calls := 0
	out := &syncbuf.Buffer{}
	r := &Remote{Client: cs, Space: space, Out: out, Logs: func(context.Context, string, string, time.Time) (io.ReadCloser, error) {
		calls++
		if calls == 1 {
			return io.NopCloser(strings.NewReader("a\nb\nhal")), nil
		}
		return io.NopCloser(strings.NewReader("a\nb\nhalf done\n\nM exit 1\n")), nil
	}}
	code, err := r.follow(ctx, "p", "M")
	require.NoError(t, err)
	require.Equal(t, 1, code)
	require.Equal(t, "a\nb\nhalf done\n\n", out.String())
	require.Equal(t, 2, calls)

	// A pod that ended without the marker: an error that says so.
	calls = 0
	p, err := cs.CoreV1().Pods(space.Control()).Get(ctx, "p", metav1.GetOptions{})
	require.NoError(t, err)
	p.Status.Phase = corev1.PodFailed
	_, err = cs.CoreV1().Pods(space.Control()).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
	_, err = r.follow(ctx, "p", "M")
	require.ErrorContains(t, err, "ended before its run did")
}

// playJobs plays the Job controller on cs: each Job gets a pod in status.
func playJobs(cs *fake.Clientset, status corev1.PodStatus) {
	cs.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		job := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-x", Namespace: job.Namespace, Labels: map[string]string{batchv1.JobNameLabel: job.Name}},
			Status: status}
		go func() {
			_, _ = cs.CoreV1().Pods(job.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
		}()
		return false, nil, nil
	})
}
