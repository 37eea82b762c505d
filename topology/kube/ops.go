package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// AnnotationPaused is set on a component's StatefulSet while its server is
// paused (SIGSTOP): a heal resumes what it marks.
const AnnotationPaused = "kong.io/paused"

// Execer runs a command in a container of a pod (the API's pods/exec).
type Execer interface {
	Exec(ctx context.Context, namespace, pod, container string, cmd []string) error
}

// Ops are the faults of one world on a cluster, through its API: every
// component is found by its labels, never by a name kong remembers.
type Ops struct {
	Client kubernetes.Interface
	// Space is the world's name and namespaces.
	Space
	// Exec runs the commands of pause and resume (nil: they fail).
	Exec Execer
	// Regions, when set, are the world's regions: Ops then reads only the
	// world's own namespaces, as the healer must (it may read nothing
	// else), instead of listing across the cluster.
	Regions []string
}

// statefulSets lists the world's StatefulSets that match selector.
func (o *Ops) statefulSets(ctx context.Context, selector string) ([]appsv1.StatefulSet, error) {
	namespaces := []string{metav1.NamespaceAll}
	if len(o.Regions) > 0 {
		namespaces = []string{o.Control()}
		for _, r := range o.Regions {
			namespaces = append(namespaces, o.Region(r))
		}
	}
	var out []appsv1.StatefulSet
	for _, ns := range namespaces {
		list, err := o.Client.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, err
		}
		out = append(out, list.Items...)
	}
	// The world's label is unique on a cluster; its namespaces' names
	// make sure.
	return slices.DeleteFunc(out, func(ss appsv1.StatefulSet) bool { return !o.Owns(ss.Namespace) }), nil
}

// component finds the StatefulSet of the component with ID id.
func (o *Ops) component(ctx context.Context, id string) (*appsv1.StatefulSet, error) {
	list, err := o.statefulSets(ctx, ComponentSelector(o.World, id))
	if err != nil {
		return nil, fmt.Errorf("finding component %s of world %s: %w", id, o.World, err)
	}
	switch len(list) {
	case 0:
		return nil, fmt.Errorf("world %s has no component %s", o.World, id)
	case 1:
		return &list[0], nil
	default:
		return nil, fmt.Errorf("world %s has %d StatefulSets labelled as component %s", o.World, len(list), id)
	}
}

// pods lists the pods of component id, whose StatefulSet is ss.
func (o *Ops) pods(ctx context.Context, ss *appsv1.StatefulSet, id string) ([]corev1.Pod, error) {
	list, err := o.Client.CoreV1().Pods(ss.Namespace).List(ctx, metav1.ListOptions{LabelSelector: ComponentSelector(o.World, id)})
	if err != nil {
		return nil, fmt.Errorf("finding the pods of %s: %w", id, err)
	}
	return list.Items, nil
}

// scale sets the replicas of a component's StatefulSet.
func (o *Ops) scale(ctx context.Context, ss *appsv1.StatefulSet, replicas int32) error {
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	_, err := o.Client.AppsV1().StatefulSets(ss.Namespace).Patch(ctx, ss.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kong"})
	if err != nil {
		return fmt.Errorf("scaling %s/%s to %d: %w", ss.Namespace, ss.Name, replicas, err)
	}
	return nil
}

// Stop stops component id gracefully: its StatefulSet scales to 0, and
// its pod gets its termination grace period. Its data stays.
func (o *Ops) Stop(ctx context.Context, id string) error {
	ss, err := o.component(ctx, id)
	if err != nil {
		return err
	}
	return o.scale(ctx, ss, 0)
}

// Start starts component id again: its StatefulSet scales back to the
// replicas it runs with (AnnotationReplicas).
func (o *Ops) Start(ctx context.Context, id string) error {
	ss, err := o.component(ctx, id)
	if err != nil {
		return err
	}
	return o.scale(ctx, ss, healthyReplicas(ss))
}

// Kill kills component id at once: its StatefulSet scales to 0 (or the
// controller would start it again) and its pods are deleted with no grace
// period, as kill -9 does.
func (o *Ops) Kill(ctx context.Context, id string) error {
	ss, err := o.component(ctx, id)
	if err != nil {
		return err
	}
	if err := o.scale(ctx, ss, 0); err != nil {
		return err
	}
	pods, err := o.pods(ctx, ss, id)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pods {
		err := o.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0)})
		// The controller, told to scale to 0, may have deleted it first.
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting pod %s/%s: %w", p.Namespace, p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Pause stops component id's server in place (SIGSTOP), as docker pause
// does: its connections stay open and nothing answers. The StatefulSet is
// marked (AnnotationPaused) for a heal.
func (o *Ops) Pause(ctx context.Context, id string) error { return o.signal(ctx, id, "STOP", true) }

// Resume continues a paused server (SIGCONT) and clears the mark.
func (o *Ops) Resume(ctx context.Context, id string) error { return o.signal(ctx, id, "CONT", false) }

// signal sends sig to every process of the component's pods but the
// pod's own init (the pod shares one process namespace), marking or
// clearing AnnotationPaused first, so that a pause is never left unmarked.
func (o *Ops) signal(ctx context.Context, id, sig string, paused bool) error {
	if o.Exec == nil {
		return fmt.Errorf("cannot pause or resume %s: no way to exec into its pod", id)
	}
	ss, err := o.component(ctx, id)
	if err != nil {
		return err
	}
	mark := `{"metadata":{"annotations":{"` + AnnotationPaused + `":null}}}`
	if paused {
		mark = `{"metadata":{"annotations":{"` + AnnotationPaused + `":"true"}}}`
	}
	if _, err := o.Client.AppsV1().StatefulSets(ss.Namespace).Patch(ctx, ss.Name, types.MergePatchType, []byte(mark), metav1.PatchOptions{FieldManager: "kong"}); err != nil {
		return fmt.Errorf("marking %s: %w", id, err)
	}
	pods, err := o.pods(ctx, ss, id)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		return fmt.Errorf("component %s has no pod to %s", id, map[bool]string{true: "pause", false: "resume"}[paused])
	}
	container := ss.Spec.Template.Spec.Containers[0].Name
	var errs []error
	for _, p := range pods {
		// Every process but PID 1 (the pod's pause process) and the shell
		// that sends the signal.
		cmd := []string{"sh", "-c", `for p in /proc/[0-9]*; do p=${p#/proc/}; [ "$p" = 1 ] || [ "$p" = $$ ] || kill -` + sig + ` "$p" 2>/dev/null || true; done`}
		if err := o.Exec.Exec(ctx, p.Namespace, p.Name, container, cmd); err != nil {
			errs = append(errs, fmt.Errorf("%s of pod %s/%s: %w", sig, p.Namespace, p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ZoneComponents lists the IDs of every component of a zone: what a zone
// outage (Chaos Gorilla) kills.
func (o *Ops) ZoneComponents(ctx context.Context, region, zone string) ([]string, error) {
	list, err := o.Client.AppsV1().StatefulSets(o.Region(region)).List(ctx, metav1.ListOptions{LabelSelector: ZoneSelector(o.World, region, zone)})
	if err != nil {
		return nil, fmt.Errorf("listing zone %s of region %s: %w", zone, region, err)
	}
	var ids []string
	for _, ss := range list.Items {
		ids = append(ids, ss.Annotations[AnnotationID])
	}
	slices.Sort(ids)
	return ids, nil
}

// Heal puts every component of the world back as it runs when healthy:
// each paused one resumed, each scaled down scaled back. It reads the
// state from the API alone, so that it heals what a kong that died left.
// It returns the IDs it changed.
func (o *Ops) Heal(ctx context.Context) ([]string, error) {
	list, err := o.statefulSets(ctx, LabelWorld+"="+o.World)
	if err != nil {
		return nil, fmt.Errorf("listing world %s: %w", o.World, err)
	}
	var healed []string
	var errs []error
	for i := range list {
		ss := &list[i]
		id := ss.Annotations[AnnotationID]
		changed := false
		if ss.Spec.Replicas == nil || *ss.Spec.Replicas != healthyReplicas(ss) {
			if err := o.scale(ctx, ss, healthyReplicas(ss)); err != nil {
				errs = append(errs, err)
			}
			changed = true
		}
		if ss.Annotations[AnnotationPaused] != "" {
			if err := o.Resume(ctx, id); err != nil {
				errs = append(errs, err)
			}
			changed = true
		}
		if changed {
			healed = append(healed, id)
		}
	}
	slices.Sort(healed)
	return healed, errors.Join(errs...)
}

// healthyReplicas are the replicas a component runs with when healthy
// (AnnotationReplicas; 1 when it is missing or unreadable).
func healthyReplicas(ss *appsv1.StatefulSet) int32 {
	n, err := strconv.ParseInt(ss.Annotations[AnnotationReplicas], 10, 32)
	if err != nil || n < 0 {
		return 1
	}
	return int32(n)
}
