package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quell-dev/quell/test/labkit"
)

const (
	splitMemMiB = 96
	splitPids   = 90
	splitHogMiB = 64 // per member: 3 × 64 MiB is twice the tenant's memory
)

var splitMemPolicy = fmt.Sprintf(`
[[tenant]]
name = "ci-mem"
  [tenant.match]
  cgroups = ["system.slice/docker-5b2*.scope"]
  [tenant.limits]
  memory = "%dMiB"
  pids = %d
`, splitMemMiB, splitPids)

// splitMemPidsCase: quelld splits a tenant's memory and pids among three
// Docker-style cgroups (matched by path); each then allocates 64 MiB (the
// excess goes to swap) and forks until the kernel refuses. The claim
// (README, split mode) is about the limits: the members' memory.max and
// pids.max add up to the tenant's total however many grow at once, plus
// at most the slack per member (1 MiB, 2 tasks) once. Achieved = the
// largest sum of the members' limits, sampled every 10 ms; what the kernel
// then let the tenant hold (the largest sum of memory.current and of
// pids.current) is judged against the slack beside it. The held sums may
// stay below the total: a member grows by its part each interval, and
// one refused before the next pass stays refused.
func splitMemPidsCase() Case {
	return Case{Section: Fidelity, Name: fmt.Sprintf("tenant aggregate (split) %d MiB, %d pids", splitMemMiB, splitPids), Est: 15 * time.Second,
		Needs: func(e Env) string {
			if !e.Swap {
				return "swap is off: the members would be OOM-killed, freeing what the sum should show"
			}
			return ""
		},
		Run: func(ctx context.Context, env Env, smoke bool) ([]Result, error) {
			q, err := startQuelld(env, splitMemPolicy, "")
			if err != nil {
				return nil, err
			}
			defer q.stop()
			var cgs []*cgroup
			var dirs []string
			for i := 0; i < 3; i++ {
				c, err := newCgroup(env, "system.slice/docker-"+labkit.HexID("5b2")+".scope")
				if err != nil {
					return nil, err
				}
				defer c.remove()
				// a process, as in a container: its first task
				if p, err := labkit.StartChild(env.Self, c.dir, "alloc", "1", false); err != nil {
					return nil, err
				} else if _, err := p.Line(time.Minute); err != nil {
					return nil, err
				}
				cgs = append(cgs, c)
				dirs = append(dirs, c.dir)
			}
			for _, c := range cgs {
				for _, f := range []string{"memory.max", "pids.max"} {
					if !waitFor(15*time.Second, 100*time.Millisecond, func() bool { v := labkit.ReadFile(c.dir + "/" + f); return v != "" && v != "max" }) {
						return nil, fmt.Errorf("%s/%s still max after 15 s: quelld did not split the tenant (%s)", c.rel, f, labkit.Tail(labkit.ReadFile(q.Log), 3))
					}
				}
			}
			// What the kernel let the tenant hold, and what the split
			// allowed it (a limit read back as "max" is a failed read).
			memSum := startSampler(10*time.Millisecond, func() (uint64, error) { return sumOver("memory.current", dirs...) })
			pidSum := startSampler(10*time.Millisecond, func() (uint64, error) { return sumOver("pids.current", dirs...) })
			memLim := startSampler(10*time.Millisecond, func() (uint64, error) { return sumOver("memory.max", dirs...) })
			pidLim := startSampler(10*time.Millisecond, func() (uint64, error) { return sumOver("pids.max", dirs...) })
			for _, s := range []*sampler{memSum, pidSum, memLim, pidLim} {
				defer s.end()
			}
			var hogs []*labkit.Child
			for _, c := range cgs {
				p, err := labkit.StartChild(env.Self, c.dir, "alloc", strconv.Itoa(splitHogMiB), false)
				if err != nil {
					return nil, err
				}
				hogs = append(hogs, p)
			}
			for i, p := range hogs {
				if l, err := p.Line(time.Minute); err != nil || l != "ready" {
					return nil, fmt.Errorf("%s: %d MiB not allocated (%q, %v): with swap the member should reach it", cgs[i].rel, splitHogMiB, l, err)
				}
			}
			// All three fork at once: the split is "however many grow at
			// once"; one after the other, the first would take the
			// headroom and leave the last too few tasks to start.
			var loops []*labkit.Child
			for _, c := range cgs {
				p, err := labkit.StartChild(env.Self, c.dir, "forkloop", "300", false)
				if err != nil {
					return nil, err
				}
				loops = append(loops, p)
			}
			var forks []string
			for i, p := range loops {
				l, err := p.Line(time.Minute)
				if err != nil || !strings.HasPrefix(l, "done ") {
					return nil, fmt.Errorf("%s: fork loop: %q, %v", cgs[i].rel, l, err)
				}
				forks = append(forks, strings.Fields(l)[1])
			}
			time.Sleep(3 * time.Second) // a few passes of the split after every member was refused
			limFails := memLim.failed() + pidLim.failed()
			_, heldMem, _, e1 := memSum.end()
			_, heldPids, _, e2 := pidSum.end()
			loMemLim, hiMemLim, _, e3 := memLim.end()
			loPidLim, hiPidLim, _, e4 := pidLim.end()
			peaks, e5 := sumOver("memory.peak", dirs...)
			if err := errors.Join(e1, e2, e3, e4, e5); err != nil {
				return nil, err
			}
			if limFails > 0 {
				return nil, fmt.Errorf("%d reads of the members' memory.max or pids.max failed or read \"max\" after quelld had split the tenant", limFails)
			}
			each := func(file string) string {
				var vs []string
				for _, d := range dirs {
					vs = append(vs, labkit.ReadFile(d+"/"+file))
				}
				return strings.Join(vs, " + ")
			}
			const slackMiB, slackPids = 3, 6 // the split's slack: 1 MiB and 2 tasks a member
			rs := []Result{
				Result{Control: "tenant split memory", Case: fmt.Sprintf("tenant memory %d MiB over 3 containers", splitMemMiB), Set: splitMemMiB, Achieved: mib(hiMemLim), Unit: "MiB",
					Extra: map[string]float64{"min_sum_memory_max_mib": mib(loMemLim), "held_mib": mib(heldMem), "held_over_tenant_mib": max(0, round(mib(heldMem)-splitMemMiB, 3)),
						"sum_memory_peak_mib": mib(peaks), "slack_mib": slackMiB},
					Method: fmt.Sprintf("quelld split mode, 3 docker-*.scope cgroups each allocating %d MiB (swap on), then forking until refused; the largest sum of the members' memory.max sampled every 10 ms (at the end %s); "+
						"held_mib: the largest sum of their memory.current, the kernel's effect (held_over_tenant_mib: above the tenant's limit); sum_memory_peak_mib: their memory.peak added (peaks at different moments)", splitHogMiB, each("memory.max"))}.WithError(),
				Result{Control: "tenant split pids", Case: fmt.Sprintf("tenant pids %d over 3 containers", splitPids), Set: splitPids, Achieved: float64(hiPidLim), Unit: "pids",
					Extra: map[string]float64{"min_sum_pids_max": float64(loPidLim), "held_pids": float64(heldPids), "held_over_tenant_pids": max(0, float64(heldPids)-splitPids), "slack_pids": slackPids},
					Method: fmt.Sprintf("the same 3 cgroups forking at once until refused (forks %s); the largest sum of the members' pids.max sampled every 10 ms (at the end %s); "+
						"held_pids: the largest sum of their pids.current, the kernel's effect (held_over_tenant_pids: above the tenant's limit)", strings.Join(forks, ", "), each("pids.max"))}.WithError(),
			}
			return crossChecked(env, rs, cgs...)
		}}
}
