package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

// memTriggerLine is the trigger quelld arms on /proc/pressure/memory
// (enforcer/pressure.go), as cpuTriggerLine for cpu.
const memTriggerLine = cpuTriggerLine

// memoryReactionCase: trials of a memory antagonist (churning 160 MiB in
// a cgroup with memory.high 48M and memory.swap.max 64M, as oomd's
// antagonist) under a rule on host.memory.some.recent > 20% for 0s, rank
// memory → throttle (memory.high = half of what it uses). quelld's
// interval is 5 s and PSI triggers wake its loop. Measured: the bench's
// own trigger on /proc/pressure/memory (quelld's line) firing → the
// antagonist's memory.high written (polled every 20 ms), and onset → write.
func memoryReactionCase(smoke bool) Case {
	const signal, above = "host.memory.some.recent", 20.0
	return Case{Section: Reaction, Name: "quelld memory PSI trigger (" + signal + ")", Est: 90 * time.Second, Smoke: smoke,
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			trials := pick(smoke, 1, 5)
			policy := fmt.Sprintf(`
[[tenant]]
name = "batch"
class = "best-effort"
  [tenant.match]
  cgroups = ["system.slice/docker-bad1*.scope"]

[[rule]]
name = "react"
when = { signal = %q, above = %g, for = "0s" }
target = { classes = ["best-effort"], rank = "memory" }
ladder = [{ action = "throttle", factor = 0.5, for = "300s" }]
cooldown = "300s"
`, signal, above)
			var ts, trig []float64
			for i := 0; i < trials; i++ {
				if err := waitCalm(env, "memory", 2, 60*time.Second); err != nil {
					return nil, err
				}
				d, tr, err := memReactOnce(env, policy, pick(smoke, 3*time.Second, 6*time.Second))
				if err != nil {
					return nil, fmt.Errorf("trial %d: %w", i+1, err)
				}
				if tr <= 0 {
					return nil, fmt.Errorf("trial %d: memory.high written %.2fs after onset, before the bench's trigger fired", i+1, d.Seconds())
				}
				ts, trig = append(ts, d.Seconds()), append(trig, tr.Seconds())
			}
			r := reactionResult("quelld memory PSI trigger", ts, fmt.Sprintf("antagonist churning 160 MiB under memory.high 48M, memory.swap.max 64M; rule %s > %g%% for 0s, rank memory → throttle ×0.5 (memory.high); quelld interval 5s, PSI triggers wake the loop; onset → antagonist memory.high written, polled every 20 ms", signal, above))
			r.Case = "quelld memory PSI trigger (" + signal + ")"
			addTriggerSplit(&r, ts, trig)
			return []Result{r}, nil
		}}
}

// memReactOnce returns onset → the antagonist's memory.high rewritten, and
// onset → the bench's memory trigger firing (0 when it did not first).
func memReactOnce(env Env, policy string, idle time.Duration) (time.Duration, time.Duration, error) {
	q, err := startQuelld(env, policy, "interval = \"5s\"\n")
	if err != nil {
		return 0, 0, err
	}
	defer q.stop()
	a, err := newCgroup(env, "system.slice/docker-"+labkit.HexID("bad1")+".scope")
	if err != nil {
		return 0, 0, err
	}
	defer a.remove()
	high := filepath.Join(a.dir, "memory.high")
	for f, v := range map[string]string{high: "50331648", filepath.Join(a.dir, "memory.swap.max"): "67108864"} {
		if err := os.WriteFile(f, []byte(v), 0o644); err != nil {
			return 0, 0, err
		}
	}
	time.Sleep(idle) // let quelld see and classify it while idle
	orig := labkit.ReadFile(high)
	w := watchTrigger(filepath.Join(env.ProcRoot, "pressure", "memory"), memTriggerLine)
	defer w.close()
	onset := time.Now()
	w.from(onset)
	if _, err := labkit.StartChild(env.Self, a.dir, "churn", "160", false); err != nil {
		return 0, 0, err
	}
	return awaitWrite(high, orig, onset, w, q.Log)
}
