package kube

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
)

// APIExec runs commands in pods through the API server's pods/exec, over
// WebSocket, or SPDY where the server does not speak it.
type APIExec struct {
	Config *rest.Config
	Client kubernetes.Interface
}

// Exec implements Execer: the command's output comes back in the error
// when it fails.
func (e APIExec) Exec(ctx context.Context, namespace, pod, container string, cmd []string) error {
	return e.Stream(ctx, namespace, pod, container, cmd, nil)
}

// Stream runs cmd in a container of a pod, copying its standard output to
// stdout (nil: kept with its standard error for the error of a command
// that fails).
func (e APIExec) Stream(ctx context.Context, namespace, pod, container string, cmd []string, stdout io.Writer) error {
	req := e.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(e.Config, "GET", req.URL().String())
	if err != nil {
		return err
	}
	spdy, err := remotecommand.NewSPDYExecutor(e.Config, "POST", req.URL())
	if err != nil {
		return err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if stdout == nil {
		stdout = &out
	}
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: &out}); err != nil {
		return fmt.Errorf("exec in %s/%s (%s): %w: %s", namespace, pod, container, err, strings.TrimSpace(out.String()))
	}
	return nil
}
