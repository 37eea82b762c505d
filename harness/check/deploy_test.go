package check

import (
	"strings"
	"testing"
	"time"

	"github.com/kongchaos/kong/harness/history"
)

// rolloutEvents writes a rollout's events into b as deploy.Pipeline records
// them, from ms on, one event every step ms: a stage per region (its instances
// restarted on version), the canary's judgement after the first, then
// either every stage (promoted) or a rollback of the first stage's
// instances to previous after it.
func rolloutEvents(b *hb, ms, step int, version, previous, verdict string, stages map[string][]string, order []string, rollBack bool) int {
	note := func(name, target string, detail map[string]string) {
		b.h.Events = append(b.h.Events, history.Event{Kind: history.Note, Name: name, Target: target, Time: b.at(ms), Detail: detail})
		ms += step
	}
	var deployed []string
	for i, region := range order {
		note(history.EventDeployStage, region, map[string]string{"version": version, "stage": region, "instances": strings.Join(stages[region], ",")})
		for _, inst := range stages[region] {
			note(history.EventDeployInstance, inst, map[string]string{"version": version, "region": region, "stage": region})
			deployed = append(deployed, inst)
		}
		if i == 0 {
			note(history.EventCanaryJudgement, region, map[string]string{"verdict": verdict, "score": map[string]string{"pass": "100.0", "fail": "0.0"}[verdict]})
			if rollBack {
				note(history.EventDeployRollback, "", map[string]string{"version": previous, "instances": strings.Join(deployed, ",")})
				for _, inst := range deployed {
					note(history.EventDeployInstance, inst, map[string]string{"version": previous, "region": region, "stage": "rollback"})
				}
				note(history.EventDeployDone, "", map[string]string{"version": version, "decision": "rolled-back", "rollback": "3s"})
				return ms
			}
		}
	}
	note(history.EventDeployDone, "", map[string]string{"version": version, "decision": "promoted"})
	return ms
}

func TestDeploy(t *testing.T) {
	stages := map[string][]string{"east": {"east/member/a", "east/member/b"}, "west": {"west/member/a", "west/member/b"}}
	order := []string{"east", "west"}
	hist := func(badVerdict string, badRolledBack bool, goodStages map[string][]string) func() *history.History {
		return func() *history.History {
			b := newHB()
			ms := rolloutEvents(b, 0, 1000, "v2-errors", "v1", badVerdict, stages, order, badRolledBack)
			rolloutEvents(b, ms, 1000, "v2", "v1", "pass", goodStages, order, false)
			return b.history()
		}
	}
	d := &Deploy{Bad: "v2-errors", Good: "v2", MaxExposure: time.Minute}
	runCases(t, []checkCase{
		{name: "the canary stopped it", checker: d, history: hist("fail", true, stages), want: history.VerdictValid,
			reason:  []string{"v2-errors rolled back from east after 6s (the canary analysis said fail (score 0.0))", "v2 reached all 4 instances"},
			figures: map[string]float64{"bad_regions": 1, "bad_exposure_s": 6, "rollback_s": 3, "good_instances": 4}},
		{name: "promoted everywhere", checker: d, history: hist("pass", false, stages), want: history.VerdictInvalid,
			reason: []string{"v2-errors reached 2 regions (east, west): the canary analysis said pass (score 100.0)", "v2-errors was promoted, not rolled back"}},
		{name: "rolled back too late", checker: &Deploy{Bad: "v2-errors", Good: "v2", MaxExposure: 5 * time.Second},
			history: hist("fail", true, stages), want: history.VerdictInvalid, reason: []string{"v2-errors served for 6s before its rollback ended, more than 5s"}},
		{name: "the good version missed an instance", checker: d, want: history.VerdictInvalid, reason: []string{"v2 did not reach 1 instance(s): west/member/b"},
			history: func() *history.History {
				h := hist("fail", true, stages)()
				// The last restart of west/member/b failed.
				for i := len(h.Events) - 1; i >= 0; i-- {
					if e := &h.Events[i]; e.Name == history.EventDeployInstance && e.Target == "west/member/b" {
						e.Detail["error"] = "did not answer"
						break
					}
				}
				return h
			}},
		{name: "nothing deployed", checker: d, history: func() *history.History { return newHB().history() }, want: history.VerdictUnknown,
			reason: []string{"no rollout of v2-errors or v2"}},
	})
}
