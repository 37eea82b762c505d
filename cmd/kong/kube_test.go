package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kongchaos/kong/internal/kubesetup/kubetest"
	"github.com/kongchaos/kong/topology/kube"
)

// The kubernetes backend through the CLI, on a real API server with its
// controllers and kwok's fake nodes (built by kong setup --kubernetes;
// nothing runs in the pods, so the setup Job's pod is ended by kwok as if
// it succeeded): kong up makes the world and waits for it, status shows
// it, kill and start act through the API, heal puts back what a run left,
// a second up of the same world is refused (under any namespace prefix),
// down leaves nothing, and kong gameday says clearly that it cannot run
// from outside the cluster yet (kong run can: see the real node's test). The world's namespaces carry the prefix the user chose.
func TestKubernetesBackendCLI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, cp := kubetest.ForProfile(ctx, t, "default")
	k := newKongCLI(t)
	onKube := func(args ...string) (string, error) {
		return k.run(append(args, "--backend", "kubernetes", "--kubeconfig", cp.Kubeconfig, "--namespace-prefix", "team-a-")...)
	}

	out, err := k.run("up", "--world", "kc", "--backend", "kubernetes", "--kubeconfig", cp.Kubeconfig, "--namespace-prefix", "Team_A")
	require.Error(t, err)
	require.Contains(t, out, `namespace prefix "Team_A"`)

	out, err = onKube("up", "--world", "kc", "--timeout", "3m")
	require.NoError(t, err, out)
	require.Contains(t, out, "team-a-kc")
	out, err = onKube("up", "--world", "kc")
	require.Error(t, err, "a second world of the same name")
	require.Contains(t, out, "kong down --world kc --backend kubernetes")
	out, err = k.run("up", "--world", "kc", "--backend", "kubernetes", "--kubeconfig", cp.Kubeconfig)
	require.Error(t, err, "a world's name is unique on the cluster, whatever the prefix")
	require.Contains(t, out, "exists on the cluster already (namespace team-a-kc")
	out, err = k.run("status", "--world", "kc", "--backend", "kubernetes", "--kubeconfig", cp.Kubeconfig)
	require.Error(t, err, "under the default prefix there is no world kc")
	require.Contains(t, out, "no world kc")

	out, err = onKube("status", "--world", "kc")
	require.NoError(t, err, out)
	require.Contains(t, out, "us-west-2/cassandra/b")
	require.Regexp(t, `us-west-2/cassandra/b\s+us-west-2\s+b\s+team-a-kc-us-west-2/cassandra-b-0\s+kwok-b\s+running`, out, "on its zone's node")
	require.Regexp(t, `us-east-1/memcached/c\s+us-east-1\s+c\s+\S+\s+kwok-c\s+running`, out, "on its zone's node")

	out, err = onKube("kill", "--world", "kc", "us-west-2/cassandra/b")
	require.NoError(t, err, out)
	out, err = onKube("status", "--world", "kc")
	require.NoError(t, err, out)
	require.Regexp(t, `us-west-2/cassandra/b\s+us-west-2\s+b\s+-\s+-\s+stopped`, out)
	out, err = onKube("heal", "--world", "kc")
	require.NoError(t, err, out)
	require.Contains(t, out, "every component scaled back")
	ss, err := cp.Client.AppsV1().StatefulSets(kube.Space{Prefix: "team-a-", World: "kc"}.Region("us-west-2")).Get(ctx, "cassandra-b", metav1.GetOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 1, *ss.Spec.Replicas, "heal scaled the killed node back")

	// A game day from outside runs in a run Job (kwok's pods run
	// nothing): a scheduled one is refused before any Job is made.
	out, err = onKube("gameday", "--world", "kc", "--every", "1h")
	require.Error(t, err)
	require.Contains(t, out, "schedule kong gameday --backend kubernetes from outside instead")
	jobs, err := cp.Client.BatchV1().Jobs(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, j := range jobs.Items {
		require.NotContains(t, j.Name, "kong-run-", "a run Job was made")
	}

	out, err = k.run("down", "--world", "kc", "--backend", "kubernetes", "--kubeconfig", cp.Kubeconfig)
	require.NoError(t, err, out)
	require.Contains(t, out, "not up", "the default prefix's kong down leaves team-a's world alone")
	out, err = onKube("down", "--world", "kc")
	require.NoError(t, err, out)
	require.Contains(t, out, "world kc is down")
	list, err := cp.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kube.LabelWorld})
	require.NoError(t, err)
	require.Empty(t, list.Items, "kong down leaves no namespace of the world")
	pods, err := cp.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelWorld})
	require.NoError(t, err)
	require.Empty(t, pods.Items)
	out, err = onKube("down", "--world", "kc")
	require.NoError(t, err, out)
	require.Contains(t, out, "not up")
}
